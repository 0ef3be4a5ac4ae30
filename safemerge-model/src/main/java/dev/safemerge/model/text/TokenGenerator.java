package dev.safemerge.model.text;

import dev.safemerge.model.generate.GenerationResult;
import dev.safemerge.model.generate.Sampling;
import dev.safemerge.model.generate.SequenceFeed;
import dev.safemerge.model.generate.SequenceSpec;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

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

    /** Bytes of KV cache a sequence of {@code positions} positions holds; 0 for generators that keep none. */
    default long kvBytes(long positions) {
        return 0;
    }

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

    /**
     * Continuous batching over a feed (see {@link SequenceFeed}); {@code listener} sees the feed's sequence numbers,
     * and every sequence samples with its own settings. Generators that cannot take sequences into a running batch
     * run each admitted group to its end before they admit more, one call per sampling setting in the group; those
     * take only sequences on the model as loaded.
     */
    default void generateFeed(SequenceFeed feed, TokenListener listener) {
        int offset = 0;
        while (true) {
            List<SequenceFeed.Joining> group = feed.admit(maxBatch());
            if (group.isEmpty()) {
                return;
            }
            if (group.stream().anyMatch(joining -> joining.spec().adapter() != null)) {
                throw new UnsupportedOperationException("this generator runs no adapters");
            }
            Map<Sampling, List<Integer>> bySetting = new LinkedHashMap<>();
            for (int i = 0; i < group.size(); i++) {
                bySetting
                        .computeIfAbsent(group.get(i).sampling().batchKey(), key -> new ArrayList<>())
                        .add(offset + i);
            }
            int first = offset;
            for (Map.Entry<Sampling, List<Integer>> setting : bySetting.entrySet()) {
                List<Integer> members = setting.getValue();
                List<SequenceFeed.Joining> joinings =
                        members.stream().map(index -> group.get(index - first)).toList();
                int longest = joinings.stream()
                        .mapToInt(joining -> joining.sampling().maxNewTokens())
                        .max()
                        .orElseThrow();
                List<TokenOutput> outputs = generate(
                        joinings.stream()
                                .map(joining -> joining.spec().prompt())
                                .toList(),
                        setting.getKey().withMaxNewTokens(longest),
                        (sequence, tokenId) -> listener.accept(members.get(sequence), tokenId));
                for (int i = 0; i < outputs.size(); i++) {
                    TokenOutput output = outputs.get(i);
                    feed.finished(
                            members.get(i),
                            new GenerationResult(output.tokenIds(), output.finishReason(), output.promptTokens()));
                }
            }
            offset += group.size();
        }
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
