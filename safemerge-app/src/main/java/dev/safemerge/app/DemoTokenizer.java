package dev.safemerge.app;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.safemerge.eval.Json;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The demo model's tokenizer: GPT-2's byte-level BPE (every text encodes), with merges learned from the base's training
 * text, so that the words it was trained on are one token each and a sequence is a few times shorter than in bytes.
 * Ids 0–255 are the bytes in byte order, then the chat template's special tokens, then one id per merge.
 */
final class DemoTokenizer {
    static final String[] SPECIAL_TOKENS = {"<|bos|>", "<|end|>", "<|user|>", "<|assistant|>", "<|system|>"};
    static final int BOS = 256;
    static final int EOS = 257;
    static final int FIRST_MERGE_ID = 256 + SPECIAL_TOKENS.length;

    /** GPT-2's pre-tokenization (the ByteLevel pre-tokenizer with use_regex): merges never cross these pieces. */
    private static final Pattern PIECES =
            Pattern.compile("'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+");

    private DemoTokenizer() {}

    /** One learned merge: two tokens (in the byte alphabet) that become their concatenation. */
    record Merge(String left, String right) {}

    /**
     * Byte-pair merges learned from {@code texts}: repeatedly the most frequent adjacent pair (ties: the smaller pair
     * in string order, so the result depends on the texts only), until no pair occurs {@code minCount} times.
     */
    static List<Merge> learn(List<String> texts, int minCount) {
        String[] alphabet = byteAlphabet();
        Map<List<String>, Integer> words = new LinkedHashMap<>();
        for (String text : texts) {
            Matcher m = PIECES.matcher(text);
            while (m.find()) {
                List<String> symbols = new ArrayList<>();
                for (byte b : m.group().getBytes(StandardCharsets.UTF_8)) {
                    symbols.add(alphabet[b & 0xFF]);
                }
                words.merge(symbols, 1, Integer::sum);
            }
        }
        List<Merge> merges = new ArrayList<>();
        while (true) {
            Map<Merge, Integer> pairs = new HashMap<>();
            words.forEach((symbols, count) -> {
                for (int i = 0; i + 1 < symbols.size(); i++) {
                    pairs.merge(new Merge(symbols.get(i), symbols.get(i + 1)), count, Integer::sum);
                }
            });
            Merge best = null;
            int bestCount = minCount - 1;
            for (var e : pairs.entrySet()) {
                Merge pair = e.getKey();
                int count = e.getValue();
                if (count > bestCount || (count == bestCount && best != null && compare(pair, best) < 0)) {
                    best = pair;
                    bestCount = count;
                }
            }
            if (best == null) {
                return List.copyOf(merges);
            }
            merges.add(best);
            Map<List<String>, Integer> merged = new LinkedHashMap<>();
            for (var e : words.entrySet()) {
                merged.merge(apply(e.getKey(), best), e.getValue(), Integer::sum);
            }
            words = merged;
        }
    }

    private static int compare(Merge a, Merge b) {
        int c = a.left().compareTo(b.left());
        return c != 0 ? c : a.right().compareTo(b.right());
    }

    private static List<String> apply(List<String> symbols, Merge merge) {
        List<String> out = new ArrayList<>(symbols.size());
        for (int i = 0; i < symbols.size(); i++) {
            if (i + 1 < symbols.size()
                    && symbols.get(i).equals(merge.left())
                    && symbols.get(i + 1).equals(merge.right())) {
                out.add(merge.left() + merge.right());
                i++;
            } else {
                out.add(symbols.get(i));
            }
        }
        return out;
    }

    static int vocabSize(List<Merge> merges) {
        return FIRST_MERGE_ID + merges.size();
    }

    /** tokenizer.json: the byte alphabet and {@code merges}, GPT-2's byte-level pre-tokenizer and decoder. */
    static ObjectNode json(List<Merge> merges) {
        ObjectNode root = Json.object();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        for (int i = 0; i < SPECIAL_TOKENS.length; i++) {
            ObjectNode token = added.addObject();
            token.put("id", 256 + i);
            token.put("content", SPECIAL_TOKENS[i]);
            token.put("single_word", false);
            token.put("lstrip", false);
            token.put("rstrip", false);
            token.put("normalized", false);
            token.put("special", true);
        }
        root.putNull("normalizer");
        ObjectNode pre = root.putObject("pre_tokenizer");
        pre.put("type", "ByteLevel");
        pre.put("add_prefix_space", false);
        pre.put("trim_offsets", true);
        pre.put("use_regex", true);
        root.putNull("post_processor");
        ObjectNode decoder = root.putObject("decoder");
        decoder.put("type", "ByteLevel");
        decoder.put("add_prefix_space", true);
        decoder.put("trim_offsets", true);
        decoder.put("use_regex", true);
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE");
        model.putNull("dropout");
        model.putNull("unk_token");
        model.putNull("continuing_subword_prefix");
        model.putNull("end_of_word_suffix");
        model.put("fuse_unk", false);
        model.put("byte_fallback", false);
        model.put("ignore_merges", false);
        ObjectNode vocab = model.putObject("vocab");
        String[] alphabet = byteAlphabet();
        for (int b = 0; b < 256; b++) {
            vocab.put(alphabet[b], b);
        }
        // The special tokens are in the model's vocabulary too (as GPT-2's <|endoftext|> is): the library gives an
        // added token that the vocabulary lacks the next free id, whatever id tokenizer.json states.
        for (int i = 0; i < SPECIAL_TOKENS.length; i++) {
            vocab.put(SPECIAL_TOKENS[i], 256 + i);
        }
        ArrayNode mergeList = model.putArray("merges");
        for (int i = 0; i < merges.size(); i++) {
            Merge merge = merges.get(i);
            vocab.put(merge.left() + merge.right(), FIRST_MERGE_ID + i);
            mergeList.addArray().add(merge.left()).add(merge.right());
        }
        return root;
    }

    /** GPT-2's printable stand-in character for each byte (bytes_to_unicode). */
    static String[] byteAlphabet() {
        String[] alphabet = new String[256];
        int next = 256;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            alphabet[b] = Character.toString(printable ? b : next++);
        }
        return alphabet;
    }
}
