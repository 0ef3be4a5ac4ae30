package dev.safemerge.model.generate;

import java.util.List;

/**
 * Sequences that join a running batch between decode steps, and where each one's result goes as soon as it ends: the
 * way a server keeps one batch running while requests come and go. Called on the generating thread.
 */
public interface SequenceFeed {
    /**
     * One sequence to start, with its own sampling: sequences of different temperatures, top-p, top-k, seeds or
     * end-of-sequence handling share the batch, each sampling as it would alone.
     *
     * @param sampling its sampler and its token limit ({@link Sampling#maxNewTokens()}; its cache is sized for its
     *     prompt and this many tokens); stop strings are the text layer's
     */
    record Joining(SequenceSpec spec, Sampling sampling) {}

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
