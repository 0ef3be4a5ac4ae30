package dev.safemerge.model.generate;

/**
 * An adapter applied at a multiple of its own PEFT scaling: a linear layer adds
 * {@code scale·peftScale·(x·Aᵀ)·Bᵀ}. Scale λ gives base + λ·adapter, the linear (and task-arithmetic) merge of the
 * base and its LoRA fine-tune at weight λ, without materializing the merged weights.
 */
public record ScaledAdapter(AdapterWeights adapter, float scale) {
    public ScaledAdapter {
        if (adapter == null) {
            throw new IllegalArgumentException("adapter must not be null");
        }
        if (!Float.isFinite(scale)) {
            throw new IllegalArgumentException("adapter scale must be finite, got " + scale);
        }
    }
}
