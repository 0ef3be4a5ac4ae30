package dev.safemerge.model;

import java.nio.file.Path;

/**
 * How {@link Model#load} prepares a model.
 *
 * @param adapter a PEFT LoRA adapter directory to apply, or null
 * @param mergeAdapter true: add scale·B·A into the weights at load (stored back in the weights' dtype); false: keep
 *     the adapter as separate float32 low-rank matmuls
 * @param quantization {@link Quantization#NONE} keeps the stored dtype; {@link Quantization#Q8} converts linear
 *     weights to int8 with one scale per 32 elements of a row
 * @param threads worker threads of the kernel pool, 0 for one per core
 * @param weightsInMemory true copies weights off-heap at load; false reads them through the file mapping
 */
public record ModelLoadOptions(
        Path adapter, boolean mergeAdapter, Quantization quantization, int threads, boolean weightsInMemory) {
    public ModelLoadOptions {
        if (quantization == null) {
            throw new IllegalArgumentException("quantization must not be null");
        }
        if (threads < 0) {
            throw new IllegalArgumentException("threads must be >= 0, got " + threads);
        }
    }

    /** Stored dtype, no adapter, all cores, weights copied to memory. */
    public static ModelLoadOptions defaults() {
        return new ModelLoadOptions(null, false, Quantization.NONE, 0, true);
    }

    public ModelLoadOptions withAdapter(Path adapterDir, boolean merge) {
        return new ModelLoadOptions(adapterDir, merge, quantization, threads, weightsInMemory);
    }

    public ModelLoadOptions withQuantization(Quantization q) {
        return new ModelLoadOptions(adapter, mergeAdapter, q, threads, weightsInMemory);
    }

    public ModelLoadOptions withThreads(int count) {
        return new ModelLoadOptions(adapter, mergeAdapter, quantization, count, weightsInMemory);
    }

    public ModelLoadOptions withWeightsInMemory(boolean inMemory) {
        return new ModelLoadOptions(adapter, mergeAdapter, quantization, threads, inMemory);
    }

    /** Weight storage at inference time. */
    public enum Quantization {
        NONE,
        Q8;

        /** Parses a CLI value ("none", "q8"). */
        public static Quantization parse(String value) {
            return switch (value.toLowerCase(java.util.Locale.ROOT)) {
                case "none" -> NONE;
                case "q8" -> Q8;
                default ->
                    throw new dev.safemerge.tensor.BadInputException(
                            "--quantize: unknown value '" + value + "' (expected none or q8)");
            };
        }
    }
}
