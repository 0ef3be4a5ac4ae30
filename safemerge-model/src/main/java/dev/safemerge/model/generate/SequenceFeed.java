package dev.safemerge.model.generate;

import java.util.List;

/**
 * Sequences that join a running batch between decode steps, and where each one's result goes as soon as it ends: the
 * way a server keeps one batch running while requests come and go. Called on the generating thread.
 */
public interface SequenceFeed {
    /**
     * One sequence to start.
     *
     * @param maxNewTokens its own token limit (at most the call's {@link Sampling#maxNewTokens()}); its cache is sized
     *     for its prompt and this many tokens
     */
    record Joining(SequenceSpec spec, int maxNewTokens) {}

    /**
     * Called before every decode step; the sequences returned start in that step, numbered in the order they were
     * admitted over the whole run, from 0. When nothing runs and nothing is returned, the run ends.
     *
     * @param freeSlots how many more sequences the batch can take now (at least 1)
     */
    List<Joining> admit(int freeSlots);

    /** Sequence {@code index} ended; it has left the batch and its cache is released. */
    void finished(int index, GenerationResult result);
}
