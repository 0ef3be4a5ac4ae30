package dev.safemerge.model.train;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.safemerge.model.text.ChatMessage;
import dev.safemerge.tensor.BadInputException;
import dev.safemerge.tensor.JsonMappers;
import dev.safemerge.tensor.Utf8Text;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * Supervised fine-tuning data from JSONL. Each line is either {@code {"messages": [{"role", "content"}, ...]}},
 * rendered with the model's chat template, or {@code {"prompt": ..., "response": ...}} (also "completion"),
 * concatenated as plain text with BOS and EOS as TRL does for prompt-completion data. Only assistant turns (or the
 * response and its EOS) are learned: other positions get the label {@link CrossEntropy#IGNORE}.
 */
public final class SftData {
    private SftData() {}

    /** Token ids and per-position targets: {@code labels[t]} is the token position t must predict, or IGNORE. */
    public record Example(int lineNumber, int[] ids, int[] labels) {
        public int length() {
            return ids.length;
        }

        public int trainedTokens() {
            int count = 0;
            for (int label : labels) {
                if (label != CrossEntropy.IGNORE) {
                    count++;
                }
            }
            return count;
        }
    }

    public enum Overlong {
        TRUNCATE,
        DROP
    }

    /** The loaded examples and what was done to the ones that did not fit. */
    public record Loaded(
            List<Example> train, List<Example> validation, int lines, int truncated, int dropped, int withoutTargets) {}

    /**
     * Longest line accepted, in characters. Lines are refused rather than cut before tokenizing: how many characters
     * make --max-len tokens depends on the tokenizer, so a cut could change the tokens of a line that fits, while
     * a limit far above any real example (a million characters is hundreds of thousands of tokens) keeps results
     * identical and bounds the time and memory a hostile line can take.
     */
    static final int MAX_LINE_CHARS = 1 << 20;

    public static Loaded load(
            Path file,
            TrainingTokenizer tokenizer,
            int maxLength,
            Overlong overlong,
            double validationSplit,
            long seed) {
        if (!(validationSplit >= 0 && validationSplit < 1)) {
            throw new BadInputException("--val-split must be in [0, 1), got " + validationSplit);
        }
        if (maxLength < 2) {
            throw new BadInputException("--max-len must be at least 2, got " + maxLength);
        }
        ObjectMapper mapper = JsonMappers.plain();
        List<Example> examples = new ArrayList<>();
        int lines = 0;
        int truncated = 0;
        int dropped = 0;
        int withoutTargets = 0;
        List<String> badLines = new ArrayList<>();
        String[] fileLines;
        try {
            fileLines = Utf8Text.decode(file, Files.readAllBytes(file)).split("\r?\n", -1);
        } catch (IOException e) {
            if (!Files.exists(file)) {
                throw new BadInputException(file + ": no such file");
            }
            throw new UncheckedIOException(e);
        }
        for (int index = 0; index < fileLines.length; index++) {
            int lineNumber = index + 1;
            String line = fileLines[index];
            if (line.isBlank()) {
                continue;
            }
            lines++;
            Example example;
            try {
                if (line.length() > MAX_LINE_CHARS) {
                    throw new BadInputException(file + ":" + lineNumber + ": line of " + line.length()
                            + " characters, longer than the limit of " + MAX_LINE_CHARS);
                }
                example = encode(file, lineNumber, parse(mapper, file, lineNumber, line), tokenizer);
            } catch (BadInputException e) {
                badLines.add(e.getMessage());
                continue;
            }
            if (example.length() > maxLength) {
                if (overlong == Overlong.DROP) {
                    dropped++;
                    continue;
                }
                truncated++;
                int[] labels = Arrays.copyOf(example.labels(), maxLength);
                labels[maxLength - 1] = CrossEntropy.IGNORE;
                example = new Example(lineNumber, Arrays.copyOf(example.ids(), maxLength), labels);
            }
            if (example.trainedTokens() == 0) {
                withoutTargets++;
                continue;
            }
            examples.add(example);
        }
        if (!badLines.isEmpty()) {
            throw new BadInputException(describeBadLines(file, badLines));
        }
        if (examples.isEmpty()) {
            throw new BadInputException(file + ": no usable examples (" + lines + " lines, " + dropped
                    + " longer than --max-len " + maxLength + ", " + withoutTargets + " without response tokens)");
        }
        List<Example> shuffled = new ArrayList<>(examples);
        java.util.Collections.shuffle(shuffled, new Random(seed));
        int validationCount = (int) Math.round(shuffled.size() * validationSplit);
        if (validationSplit > 0 && validationCount == 0) {
            validationCount = 1;
        }
        if (validationCount >= shuffled.size()) {
            throw new BadInputException(file + ": --val-split " + validationSplit
                    + " leaves no training examples out of " + shuffled.size());
        }
        List<Example> validation = List.copyOf(shuffled.subList(0, validationCount));
        List<Example> train = List.copyOf(shuffled.subList(validationCount, shuffled.size()));
        return new Loaded(train, validation, lines, truncated, dropped, withoutTargets);
    }

    /** Bad lines shown in one report; the rest are counted. */
    static final int MAX_REPORTED_BAD_LINES = 20;

    /** Every bad line in one message, so that one run finds them all: "N bad lines: FILE:2: ...; FILE:5: ...". */
    static String describeBadLines(Path file, List<String> badLines) {
        List<String> shown = badLines.subList(0, Math.min(MAX_REPORTED_BAD_LINES, badLines.size()));
        String more = badLines.size() > shown.size() ? "; and " + (badLines.size() - shown.size()) + " more" : "";
        return file + ": " + badLines.size() + (badLines.size() == 1 ? " bad line: " : " bad lines: ")
                + String.join("; ", shown) + more;
    }

    private static JsonNode parse(ObjectMapper mapper, Path file, int lineNumber, String line) {
        try {
            return mapper.readTree(line);
        } catch (JsonProcessingException e) {
            throw new BadInputException(file + ":" + lineNumber + ": not valid JSON (" + jsonProblem(e) + ")");
        }
    }

    /** The parser's complaint with its column, without its source-location internals ("[Source: REDACTED ...]"). */
    static String jsonProblem(JsonProcessingException e) {
        String message = e.getOriginalMessage()
                .replaceAll("\\s*\\((start marker )?at \\[Source:[^\\]]*\\]\\)", "")
                .replaceAll("\\s*at \\[Source:[^\\]]*\\]", "")
                .replace('\n', ' ')
                .strip();
        return e.getLocation() == null
                ? message
                : message + " at column " + e.getLocation().getColumnNr();
    }

    static Example encode(Path file, int lineNumber, JsonNode node, TrainingTokenizer tokenizer) {
        String where = file + ":" + lineNumber;
        if (!node.isObject()) {
            throw new BadInputException(where + ": expected a JSON object");
        }
        List<Segment> segments;
        if (node.has("messages")) {
            segments = chatSegments(where, node.get("messages"), tokenizer);
        } else if (node.has("prompt") && (node.has("response") || node.has("completion"))) {
            String prompt = text(where, node, "prompt");
            String response = text(where, node, node.has("response") ? "response" : "completion");
            segments = List.of(new Segment(prompt, false), new Segment(response, true));
        } else {
            throw new BadInputException(where + ": expected \"messages\", or \"prompt\" and \"response\"");
        }
        List<Integer> ids = new ArrayList<>();
        List<Boolean> trained = new ArrayList<>();
        boolean plain = !node.has("messages");
        if (plain && tokenizer.bosId().isPresent()) {
            ids.add(tokenizer.bosId().getAsInt());
            trained.add(false);
        }
        for (Segment segment : segments) {
            for (int id : tokenizer.encode(segment.text())) {
                ids.add(id);
                trained.add(segment.trained());
            }
        }
        if (plain && tokenizer.eosId().isPresent()) {
            ids.add(tokenizer.eosId().getAsInt());
            trained.add(true);
        }
        int[] idArray = ids.stream().mapToInt(Integer::intValue).toArray();
        int[] labels = new int[idArray.length];
        for (int t = 0; t < idArray.length; t++) {
            labels[t] = t + 1 < idArray.length && trained.get(t + 1) ? idArray[t + 1] : CrossEntropy.IGNORE;
        }
        return new Example(lineNumber, idArray, labels);
    }

    private record Segment(String text, boolean trained) {}

    /**
     * Splits a rendered conversation into prompt and assistant parts by rendering growing prefixes: the text an
     * assistant message adds after the generation prompt is learned, everything else is context.
     */
    private static List<Segment> chatSegments(String where, JsonNode messagesNode, TrainingTokenizer tokenizer) {
        if (!tokenizer.hasChatTemplate()) {
            throw new BadInputException(where + ": \"messages\" needs a model with a chat template "
                    + "(tokenizer_config.json chat_template); use \"prompt\"/\"response\" instead");
        }
        if (!messagesNode.isArray() || messagesNode.isEmpty()) {
            throw new BadInputException(where + ": \"messages\" must be a non-empty array");
        }
        List<ChatMessage> messages = new ArrayList<>();
        for (JsonNode message : messagesNode) {
            if (!message.isObject()) {
                throw new BadInputException(where + ": each message must be an object with \"role\" and \"content\"");
            }
            String role = text(where, message, "role");
            messages.add(new ChatMessage(role, text(where, message, "content")));
        }
        List<Segment> segments = new ArrayList<>();
        String rendered = "";
        boolean anyAssistant = false;
        for (int i = 0; i < messages.size(); i++) {
            if (!messages.get(i).role().equals("assistant")) {
                continue;
            }
            anyAssistant = true;
            String prompt = render(where, tokenizer, messages.subList(0, i), true);
            String full = render(where, tokenizer, messages.subList(0, i + 1), false);
            if (!prompt.startsWith(rendered) || !full.startsWith(prompt)) {
                throw new BadInputException(where
                        + ": the chat template does not render this conversation as growing prefixes, so assistant "
                        + "tokens cannot be located");
            }
            segments.add(new Segment(prompt.substring(rendered.length()), false));
            segments.add(new Segment(full.substring(prompt.length()), true));
            rendered = full;
        }
        if (!anyAssistant) {
            throw new BadInputException(where + ": no \"assistant\" message to learn from");
        }
        String whole = render(where, tokenizer, messages, false);
        if (whole.startsWith(rendered) && whole.length() > rendered.length()) {
            segments.add(new Segment(whole.substring(rendered.length()), false));
        }
        segments.removeIf(s -> s.text().isEmpty());
        return segments;
    }

    private static String render(
            String where, TrainingTokenizer tokenizer, List<ChatMessage> messages, boolean prompt) {
        try {
            return tokenizer.renderChat(messages, prompt);
        } catch (BadInputException e) {
            throw new BadInputException(where + ": " + e.getMessage(), e);
        }
    }

    private static String text(String where, JsonNode node, String key) {
        JsonNode value = node.get(key);
        if (value == null || !value.isTextual()) {
            throw new BadInputException(where + ": \"" + key + "\" must be a string");
        }
        return value.asText();
    }

    /**
     * Groups examples of similar length into batches (sorted by length, cut into {@code batchSize} runs) and
     * shuffles the order of the batches with {@code seed}, so each batch wastes little work on mixed lengths while
     * the order still varies per epoch.
     */
    public static List<List<Example>> batchesByLength(List<Example> examples, int batchSize, long seed) {
        List<Example> sorted = new ArrayList<>(examples);
        sorted.sort(java.util.Comparator.comparingInt(Example::length).thenComparingInt(Example::lineNumber));
        List<List<Example>> batches = new ArrayList<>();
        for (int i = 0; i < sorted.size(); i += batchSize) {
            batches.add(List.copyOf(sorted.subList(i, Math.min(sorted.size(), i + batchSize))));
        }
        java.util.Collections.shuffle(batches, new Random(seed));
        return batches;
    }
}
