package dev.safemerge.model;

import dev.safemerge.tensor.BadInputException;
import dev.safemerge.tensor.FloatCodec;
import dev.safemerge.tensor.LoraAdapter;
import dev.safemerge.tensor.LoraWeights;
import dev.safemerge.tensor.ModelDirectory;
import dev.safemerge.tensor.SafetensorsFile;
import dev.safemerge.tensor.TensorInfo;
import dev.safemerge.tensor.kernel.Kernels;
import dev.safemerge.tensor.kernel.Matrix;
import dev.safemerge.tensor.kernel.WeightFormat;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;

/**
 * Turns checkpoint tensors into matrices and vectors, checking every name, dtype and shape, with an adapter merged
 * into the weights when asked (unmerged adapters are {@link Adapter}s).
 */
final class WeightLoader {
    private static final ValueLayout.OfFloat FLOAT_LE =
            ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final ModelDirectory checkpoint;
    private final ModelLoadOptions options;
    private final Arena arena;
    private final LoraAdapter adapter;
    private final Set<String> adapted = new HashSet<>();

    /** @param mergedAdapter the LoRA adapter to merge into the weights at load, or null */
    WeightLoader(ModelDirectory checkpoint, ModelLoadOptions options, Arena arena, LoraAdapter mergedAdapter) {
        this.checkpoint = checkpoint;
        this.options = options;
        this.arena = arena;
        this.adapter = mergedAdapter;
        if (mergedAdapter != null) {
            Adapter.checkSupported(mergedAdapter);
        }
    }

    /** Refuses an adapter with factors for tensors that are not linear layers of this model. */
    void checkAdapterFullyApplied() {
        if (adapter != null) {
            Adapter.checkFullyApplied(adapter, adapted);
        }
    }

    /** A stored matrix [rows, cols] in its own dtype (mapped or copied), without adapter or quantization. */
    Matrix stored(String name, int rows, int cols) {
        Matrix matrix = mapped(name, rows, cols);
        return options.weightsInMemory() ? inMemory(matrix) : matrix;
    }

    /** The matrix as the file holds it, read through the mapping. */
    private Matrix mapped(String name, int rows, int cols) {
        SafetensorsFile file = checkpoint.shardOf(name);
        TensorInfo info = file.info(name);
        checkShape(info, rows, cols);
        WeightFormat format = switch (info.dtype()) {
            case F32 -> WeightFormat.F32;
            case BF16 -> WeightFormat.BF16;
            case F16 -> WeightFormat.F16;
            default ->
                throw new BadInputException(file.path() + ": tensor '" + name + "' has dtype " + info.dtype()
                        + "; weights must be F32, BF16 or F16");
        };
        return new Matrix(format, rows, cols, file.bytes(name), null);
    }

    /**
     * The copy kept in memory: packed in panels where the kernels multiply those faster (the same bytes per weight, so
     * the same memory; docs/PERFORMANCE.md, "Kernels (2026-12-03): packed panels and an outer-product tile"), else as
     * stored. Mapped weights stay row-major, as the file holds them.
     */
    private Matrix inMemory(Matrix matrix) {
        return Kernels.get().multipliesPackedFast() ? matrix.packTo(arena) : matrix.copyTo(arena);
    }

    /** A linear layer's weight with the merged adapter and quantization applied. */
    Linear linear(String prefix, int out, int in, boolean hasBias) {
        String name = prefix + ".weight";
        boolean quantize = options.quantization() == ModelLoadOptions.Quantization.Q8 && in % Matrix.Q8_BLOCK == 0;
        // a weight quantized at load is read from the file once: a copy of it in memory would only be dropped
        Matrix weight = quantize ? mapped(name, out, in) : stored(name, out, in);
        if (adapter != null && adapter.targetedBaseTensors().contains(name)) {
            weight = merged(weight, Adapter.weights(adapter, name, out, in));
            adapted.add(name);
        }
        if (quantize) {
            weight = quantized(weight);
        }
        float[] bias = hasBias ? vector(prefix + ".bias", out) : null;
        return new Linear(weight, bias);
    }

    /** {@code W + scale·B·A}, rounded back to W's format like PEFT's merge. */
    private Matrix merged(Matrix weight, LoraWeights delta) {
        try (Arena scratch = Arena.ofConfined()) {
            // row-major first; kept in memory as every other weight is
            Matrix merged = mergedRows(weight, delta, options.weightsInMemory() ? scratch : arena);
            return options.weightsInMemory() ? inMemory(merged) : merged;
        }
    }

    private Matrix mergedRows(Matrix weight, LoraWeights delta, Arena target) {
        int rows = weight.rows();
        int cols = weight.cols();
        WeightFormat format = weight.format();
        MemorySegment data = target.allocate((long) rows * cols * format.elementBytes(), 64);
        float[] row = new float[cols];
        float[] deltaRow = new float[cols];
        for (int r = 0; r < rows; r++) {
            weight.readRow(r, row, 0);
            delta.deltaRow(r, deltaRow);
            for (int c = 0; c < cols; c++) {
                row[c] += deltaRow[c];
            }
            long base = (long) r * cols;
            for (int c = 0; c < cols; c++) {
                switch (format) {
                    case F32 -> data.setAtIndex(FLOAT_LE, base + c, row[c]);
                    case BF16 -> data.setAtIndex(SafetensorsFile.SHORT_LE, base + c, FloatCodec.floatToBf16(row[c]));
                    case F16 -> data.setAtIndex(SafetensorsFile.SHORT_LE, base + c, FloatCodec.floatToF16(row[c]));
                    case Q8 -> throw new IllegalStateException("stored weights are never Q8");
                }
            }
        }
        return new Matrix(format, rows, cols, data, null);
    }

    /** A 1-D float tensor of length n (norm weights, biases), as float32. */
    float[] vector(String name, int n) {
        SafetensorsFile file = checkpoint.shardOf(name);
        TensorInfo info = file.info(name);
        if (info.shape().length != 1 || info.shape()[0] != n) {
            throw new BadInputException(
                    file.path() + ": tensor '" + name + "' has shape " + info.shapeString() + ", expected [" + n + "]");
        }
        if (!info.dtype().readableAsFloat()) {
            throw new BadInputException(
                    file.path() + ": tensor '" + name + "' has dtype " + info.dtype() + ", expected a float type");
        }
        return file.readFloats(name);
    }

    /**
     * {@code matrix} quantized to Q8 in memory, packed in panels where the kernels multiply those faster (the same
     * bytes and scales; docs/PERFORMANCE.md, "q8 in packed panels"), else row-major.
     */
    Matrix quantized(Matrix matrix) {
        return matrix.quantizeQ8(arena, Kernels.get().multipliesPackedFast());
    }

    boolean contains(String name) {
        return checkpoint.contains(name);
    }

    private void checkShape(TensorInfo info, int rows, int cols) {
        long[] shape = info.shape();
        if (shape.length != 2 || shape[0] != rows || shape[1] != cols) {
            throw new BadInputException(checkpoint.shardOf(info.name()).path() + ": tensor '" + info.name()
                    + "' has shape " + Arrays.toString(shape) + ", expected [" + rows + ", " + cols + "]");
        }
    }
}
