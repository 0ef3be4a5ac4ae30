package dev.safemerge.model.generate;

/**
 * The low-rank factors of one LoRA adapter, loaded against one model and held apart from its weights. Opaque to the
 * generators: they only pass it, with a scale, to the model's forward step, which adds it to the rows of the
 * sequences that use it.
 */
public interface AdapterWeights {
    /** Bytes of the factors (float32). */
    long byteSize();
}
