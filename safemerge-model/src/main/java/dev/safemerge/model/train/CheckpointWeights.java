package dev.safemerge.model.train;

import dev.safemerge.tensor.BadInputException;
import dev.safemerge.tensor.DType;
import dev.safemerge.tensor.SafetensorsFile;
import dev.safemerge.tensor.TensorInfo;
import dev.safemerge.tensor.TensorSource;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/** The base weights of a model directory, checked against the expected shapes and kept in their stored dtype. */
public final class CheckpointWeights implements WeightSource {

    private final TensorSource source;

    public CheckpointWeights(TensorSource source) {
        this.source = source;
    }

    @Override
    public boolean contains(String name) {
        return source.contains(name);
    }

    @Override
    public FrozenMatrix matrix(String name, int rows, int cols) {
        TensorInfo info = checked(name, rows, cols);
        return switch (info.dtype()) {
            case BF16, F16 -> {
                MemorySegment bytes = source.bytes(name);
                yield FrozenMatrix.ofHalves(rows, cols, info.dtype(), bytes.toArray(SafetensorsFile.SHORT_LE));
            }
            default -> {
                float[] values = new float[rows * cols];
                source.readFloats(name, 0, values, 0, values.length);
                yield FrozenMatrix.ofFloats(rows, cols, values);
            }
        };
    }

    @Override
    public float[] vector(String name, int length) {
        checked(name, length);
        float[] values = new float[length];
        source.readFloats(name, 0, values, 0, length);
        return values;
    }

    private TensorInfo checked(String name, long... shape) {
        if (!source.contains(name)) {
            throw new BadInputException(source.describe() + ": tensor " + name + " is missing");
        }
        TensorInfo info = source.info(name);
        if (!Arrays.equals(info.shape(), shape)) {
            throw new BadInputException(source.describe() + ": tensor " + name + " has shape " + info.shapeString()
                    + ", the config implies " + Arrays.toString(shape));
        }
        if (info.dtype() != DType.F32
                && info.dtype() != DType.BF16
                && info.dtype() != DType.F16
                && info.dtype() != DType.F64) {
            throw new BadInputException(source.describe() + ": tensor " + name + " is " + info.dtype()
                    + ", training needs F32, F16, BF16 or F64 weights");
        }
        return info;
    }
}
