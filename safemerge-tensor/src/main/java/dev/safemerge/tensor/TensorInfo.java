package dev.safemerge.tensor;

import java.util.Arrays;

/**
 * One tensor's header entry: name, dtype, shape and its byte range relative to the start of the data section.
 *
 * @param dataBegin first byte of the tensor inside the data section
 * @param dataEnd one past the last byte of the tensor inside the data section
 */
@SuppressWarnings("ArrayRecordComponent") // defensive copies in and out
public record TensorInfo(String name, DType dtype, long[] shape, long dataBegin, long dataEnd) {
    public TensorInfo {
        shape = shape.clone();
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    public int rank() {
        return shape.length;
    }

    public long dim(int index) {
        return shape[index];
    }

    public long elementCount() {
        return elementCount(shape);
    }

    public long byteSize() {
        return dataEnd - dataBegin;
    }

    public static long elementCount(long[] shape) {
        long count = 1;
        for (long dim : shape) {
            count = Math.multiplyExact(count, dim);
        }
        return count;
    }

    public String shapeString() {
        return Arrays.toString(shape);
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof TensorInfo that
                && name.equals(that.name)
                && dtype == that.dtype
                && Arrays.equals(shape, that.shape)
                && dataBegin == that.dataBegin
                && dataEnd == that.dataEnd;
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(shape);
    }

    @Override
    public String toString() {
        return name + " " + dtype + " " + shapeString();
    }
}
