package dev.safemerge.model.generate;

import dev.safemerge.tensor.Progress;
import java.util.List;

/**
 * Generates token ids from prompts of token ids, many prompts at once: a batch of up to {@code maxBatch} sequences
 * decodes together, and a finished sequence's slot is refilled with the next waiting prompt.
 */
public interface Generator {
    /**
     * @param prompts token ids of each prompt (non-empty)
     * @param params sampling parameters shared by all prompts; sequence i samples with its own generator seeded
     *     from {@code params.seed()} and i, so results do not depend on batching
     * @param callback sees each token as it is generated; returning false stops that sequence
     * @param progress stepped once per generated token
     * @return one result per prompt, in prompt order
     */
    default List<GenerationResult> generate(
            List<int[]> prompts, Sampling params, TokenCallback callback, Progress progress) {
        return generateSequences(SequenceSpec.plain(prompts), params, callback, progress);
    }

    /**
     * As {@link #generate}, each sequence with its own adapter and scale (over one copy of the base weights) and its
     * own sampler stream; {@code callback} sees indices into {@code sequences}.
     */
    List<GenerationResult> generateSequences(
            List<SequenceSpec> sequences, Sampling params, TokenCallback callback, Progress progress);

    /**
     * Continuous batching over a feed: before every decode step the feed fills the free slots, and each sequence's
     * result goes to the feed the step it ends; every sequence samples with its own settings. Returns when nothing
     * runs and the feed admits nothing.
     */
    void generate(SequenceFeed feed, TokenCallback callback, Progress progress);

    /** Bytes the KV cache of a sequence of {@code positions} positions (prompt and generated tokens) holds. */
    long kvBytes(long positions);

    /** The largest number of sequences decoded together. */
    int maxBatch();

    /** The model's context window in tokens: a prompt and its generated tokens together must fit in it. */
    int contextLength();
}
