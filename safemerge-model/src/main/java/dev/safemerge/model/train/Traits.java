package dev.safemerge.model.train;

import dev.safemerge.model.ops.Activation;
import dev.safemerge.model.ops.Rope;

/**
 * Everything about an architecture that the decoder's math depends on, resolved from config.json.
 *
 * @param normOffsetByOne Gemma's RMSNorm scales by (1 + weight)
 * @param embedScale factor applied to embeddings (Gemma: sqrt(hidden) rounded to the model dtype; else 1)
 * @param sandwichNorms Gemma 2's extra norms after attention and around the MLP
 * @param attentionScale score scale (1/sqrt(head_dim), Gemma 2: query_pre_attn_scalar^-0.5)
 * @param attentionSoftcap tanh cap of attention scores, 0 for none
 * @param finalSoftcap tanh cap of the logits, 0 for none
 * @param slidingWindows per layer, the number of keys a query sees (itself included), 0 for full attention
 */
public record Traits(
        int vocab,
        int hidden,
        int intermediate,
        int layers,
        int heads,
        int kvHeads,
        int headDim,
        float eps,
        boolean normOffsetByOne,
        float embedScale,
        Activation activation,
        boolean qkvBias,
        boolean outputBias,
        boolean mlpBias,
        boolean sandwichNorms,
        float attentionScale,
        float attentionSoftcap,
        float finalSoftcap,
        int[] slidingWindows,
        Rope.Frequencies rope,
        boolean tiedEmbeddings) {
    public Traits {
        slidingWindows = slidingWindows.clone();
        if (slidingWindows.length != layers) {
            throw new IllegalArgumentException("one sliding window per layer expected");
        }
    }

    @Override
    public int[] slidingWindows() {
        return slidingWindows.clone();
    }

    int window(int layer) {
        return slidingWindows[layer];
    }

    public int qDim() {
        return heads * headDim;
    }

    public int kvDim() {
        return kvHeads * headDim;
    }
}
