package dev.safemerge.model;

/**
 * The weights of one decoder layer. {@code postAttentionNorm} is the pre-MLP norm in Llama-style layers, and the
 * norm of the attention output in Gemma 2, which also has {@code preFeedforwardNorm} and
 * {@code postFeedforwardNorm} (null elsewhere).
 */
record LayerWeights(
        float[] inputNorm,
        Linear q,
        Linear k,
        Linear v,
        Linear o,
        float[] postAttentionNorm,
        float[] preFeedforwardNorm,
        float[] postFeedforwardNorm,
        Linear gate,
        Linear up,
        Linear down) {
    long byteSize() {
        long bytes = 4L * inputNorm.length + 4L * postAttentionNorm.length;
        if (preFeedforwardNorm != null) {
            bytes += 4L * preFeedforwardNorm.length + 4L * postFeedforwardNorm.length;
        }
        for (Linear linear : new Linear[] {q, k, v, o, gate, up, down}) {
            bytes += linear.byteSize();
        }
        return bytes;
    }
}
