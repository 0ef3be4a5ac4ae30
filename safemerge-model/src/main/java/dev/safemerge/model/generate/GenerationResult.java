package dev.safemerge.model.generate;

/**
 * The outcome of generating from one prompt.
 *
 * @param tokenIds the generated tokens only (an end-of-sequence token that stopped generation is included)
 * @param finishReason {@link #STOP} (an end-of-sequence token), {@link #LENGTH} (maxNewTokens or the context
 *     length reached) or {@link #CALLBACK} (the token callback returned false)
 * @param promptTokens number of prompt tokens
 */
public record GenerationResult(int[] tokenIds, String finishReason, int promptTokens) {
    public static final String STOP = "stop";
    public static final String LENGTH = "length";
    public static final String CALLBACK = "callback";

    public GenerationResult {
        tokenIds = tokenIds.clone();
    }

    @Override
    public int[] tokenIds() {
        return tokenIds.clone();
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof GenerationResult that
                && java.util.Arrays.equals(tokenIds, that.tokenIds)
                && finishReason.equals(that.finishReason)
                && promptTokens == that.promptTokens;
    }

    @Override
    public int hashCode() {
        return java.util.Arrays.hashCode(tokenIds) * 31 + finishReason.hashCode() * 7 + promptTokens;
    }

    @Override
    public String toString() {
        return "GenerationResult" + java.util.Arrays.toString(tokenIds) + " " + finishReason + " prompt="
                + promptTokens;
    }
}
