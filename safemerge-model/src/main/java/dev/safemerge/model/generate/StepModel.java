package dev.safemerge.model.generate;

import java.util.List;

/**
 * What generation needs of a model: fresh caches and one forward step over a batch of sequences. The model
 * implements it, so the generators depend on this contract rather than on the model class.
 */
public interface StepModel {
    /** Logits per sequence in {@link #step}'s result. */
    int vocabSize();

    /** Positions the model can attend over: prompt plus generated tokens never exceed it. */
    int contextLength();

    /** End-of-sequence ids that stop a sequence unless sampling ignores them. */
    int[] eosTokenIds();

    /**
     * Bytes the KV cache of a sequence of {@code positions} positions (prompt and generated tokens) holds, over all
     * layers; sliding-window layers keep at most their window.
     */
    long kvBytes(long positions);

    /** An empty cache sized for {@code expectedLength} positions (it grows as needed). */
    KvCache newCache(int expectedLength);

    /**
     * Appends new tokens to each sequence's cache and returns the logits {@code [sequences, vocab]} of each
     * sequence's last new position. Sequence s runs with {@code adapters.get(s)} (null: the model as loaded); the base
     * weights are applied to all rows at once and each adapter's low-rank product to the rows of its sequences.
     */
    float[] step(List<KvCache> caches, List<int[]> tokens, List<ScaledAdapter> adapters);

    /** {@link #step(List, List, List)} with every sequence on the model as loaded. */
    default float[] step(List<KvCache> caches, List<int[]> tokens) {
        return step(caches, tokens, java.util.Collections.nCopies(caches.size(), null));
    }
}
