package dev.safemerge.model.text;

import dev.safemerge.model.generate.Sampling;
import dev.safemerge.model.generate.SequenceSpec;
import java.util.List;

/**
 * Token-level batched generation, the layer below {@link TextGenerator}: the inference engine's generator
 * ({@link EngineTokenGenerator}), or a scripted one in tests. A call takes any number of prompts and decodes up to
 * {@link #maxBatch()} of them together; every prompt of a call is generated with the same sampling options.
 */
public interface TokenGenerator {
    /** The number of sequences decoded together. */
    int maxBatch();

    /** The context window in tokens: a prompt and its generated tokens together must fit in it. */
    int contextLength();

    /**
     * Generates a continuation of every prompt, calling {@code listener} with each new token as it is sampled.
     * Generation of a sequence ends at an end-of-sequence token (unless {@code options.ignoreEos()}), after
     * {@code options.maxNewTokens()} tokens, or when the listener returns false for it.
     */
    List<TokenOutput> generate(List<int[]> prompts, Sampling options, TokenListener listener);

    /**
     * As {@link #generate(List, Sampling, TokenListener)}, each sequence with its own adapter and sampler
     * stream. Generators without adapters take only sequences on the model as loaded, sampler i for sequence i.
     */
    default List<TokenOutput> generateSequences(
            List<SequenceSpec> sequences, Sampling options, TokenListener listener) {
        for (int i = 0; i < sequences.size(); i++) {
            if (sequences.get(i).adapter() != null || sequences.get(i).samplerIndex() != i) {
                throw new UnsupportedOperationException("this generator runs no adapters");
            }
        }
        return generate(sequences.stream().map(SequenceSpec::prompt).toList(), options, listener);
    }

    /** Receives each generated token; returning false ends that sequence. */
    @FunctionalInterface
    interface TokenListener {
        boolean accept(int sequence, int tokenId);
    }

    /**
     * One generated sequence.
     *
     * @param tokenIds the generated ids (not the prompt)
     * @param finishReason "stop" (end-of-sequence token), "length" (token limit) or "callback" (the listener ended it)
     * @param promptTokens the prompt's length in tokens
     */
    record TokenOutput(int[] tokenIds, String finishReason, int promptTokens) {}
}
