package dev.safemerge.model.text;

import java.util.Arrays;

/**
 * Turns a growing sequence of token ids into text deltas, emitting only complete UTF-8 text: a token that ends in
 * the middle of a multi-byte character is held back until the character is complete. Each step decodes a short
 * window (the last emitted tokens as context plus the new ones), so SentencePiece-style leading spaces come out right.
 * Like vLLM's detokenizer it does not apply transformers' clean-up of spaces before punctuation.
 */
public final class StreamingDecoder {
    private static final char REPLACEMENT = '\uFFFD';

    private final HfTokenizer tokenizer;
    private final boolean skipSpecialTokens;
    private int[] ids;
    private int size;
    private int prefixOffset;
    private int readOffset;

    /**
     * @param context token ids that precede the generated ones (the prompt's tail); they give the first generated
     *     token its leading space and are never emitted
     */
    public StreamingDecoder(HfTokenizer tokenizer, int[] context, boolean skipSpecialTokens) {
        this.tokenizer = tokenizer;
        this.skipSpecialTokens = skipSpecialTokens;
        int keep = Math.min(context.length, 6);
        this.ids = Arrays.copyOf(Arrays.copyOfRange(context, context.length - keep, context.length), keep + 16);
        this.size = keep;
        this.prefixOffset = 0;
        this.readOffset = keep;
    }

    /** Adds a generated token and returns the text it completes (possibly empty). */
    public String add(int tokenId) {
        if (size == ids.length) {
            ids = Arrays.copyOf(ids, ids.length * 2);
        }
        ids[size++] = tokenId;
        String prefixText =
                tokenizer.decodeWithoutCleanUp(Arrays.copyOfRange(ids, prefixOffset, readOffset), skipSpecialTokens);
        String fullText =
                tokenizer.decodeWithoutCleanUp(Arrays.copyOfRange(ids, prefixOffset, size), skipSpecialTokens);
        if (fullText.length() > prefixText.length() && fullText.charAt(fullText.length() - 1) != REPLACEMENT) {
            String delta = fullText.substring(prefixText.length());
            prefixOffset = readOffset;
            readOffset = size;
            return delta;
        }
        return "";
    }

    /** The text of the tokens held back so far (an incomplete character decodes to U+FFFD). */
    public String flush() {
        String prefixText =
                tokenizer.decodeWithoutCleanUp(Arrays.copyOfRange(ids, prefixOffset, readOffset), skipSpecialTokens);
        String fullText =
                tokenizer.decodeWithoutCleanUp(Arrays.copyOfRange(ids, prefixOffset, size), skipSpecialTokens);
        prefixOffset = readOffset;
        readOffset = size;
        return fullText.length() > prefixText.length() ? fullText.substring(prefixText.length()) : "";
    }
}
