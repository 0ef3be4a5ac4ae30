package dev.safemerge.model.train;

/** The base model's tensors by HF name, each checked against the shape the architecture expects. */
public interface WeightSource {
    boolean contains(String name);

    /** A [rows, cols] matrix kept in its stored dtype. */
    FrozenMatrix matrix(String name, int rows, int cols);

    /** A 1-D tensor decoded to float32. */
    float[] vector(String name, int length);
}
