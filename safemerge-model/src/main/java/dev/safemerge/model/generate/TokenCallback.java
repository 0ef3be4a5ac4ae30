package dev.safemerge.model.generate;

/**
 * Receives every generated token as soon as it is chosen (streaming, stop strings). Called from the generating
 * thread, in order per sequence.
 */
@FunctionalInterface
public interface TokenCallback {
    /**
     * @param sequenceIndex index of the prompt in the list given to {@link Generator#generate}
     * @param tokenId the token just generated (already part of the result)
     * @return false to stop this sequence now (finish reason "callback")
     */
    boolean accept(int sequenceIndex, int tokenId);

    TokenCallback NONE = (sequenceIndex, tokenId) -> true;
}
