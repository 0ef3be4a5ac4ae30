package dev.safemerge.model.generate;

/**
 * Keys (after rope) and values of every processed position of one sequence, per layer, stored as rows of
 * {@code [kvHeads·headDim]}. Grows by doubling. Sliding-window layers keep all positions too; attention reads only
 * the window, so the memory cost is that of a full cache.
 */
public final class KvCache {
    private final float[][] keys;
    private final float[][] values;
    private final int rowSize;
    private int capacity;
    private int length;

    public KvCache(int layers, int rowSize, int initialCapacity) {
        this.rowSize = rowSize;
        this.capacity = Math.max(1, initialCapacity);
        this.keys = new float[layers][capacity * rowSize];
        this.values = new float[layers][capacity * rowSize];
    }

    /** Number of positions stored. */
    public int length() {
        return length;
    }

    public float[] keys(int layer) {
        return keys[layer];
    }

    public float[] values(int layer) {
        return values[layer];
    }

    /** Makes room for {@code extra} more positions (the arrays of {@link #keys}/{@link #values} may be replaced). */
    public void reserve(int extra) {
        int needed = length + extra;
        if (needed <= capacity) {
            return;
        }
        int newCapacity = Math.max(needed, capacity * 2);
        for (int l = 0; l < keys.length; l++) {
            keys[l] = java.util.Arrays.copyOf(keys[l], newCapacity * rowSize);
            values[l] = java.util.Arrays.copyOf(values[l], newCapacity * rowSize);
        }
        capacity = newCapacity;
    }

    /** Marks {@code count} positions written by the forward pass as stored. */
    public void advance(int count) {
        if (length + count > capacity) {
            throw new IllegalStateException("advance past reserved capacity");
        }
        length += count;
    }

    /** Forgets every position so the cache can serve a new sequence. */
    public void clear() {
        length = 0;
    }

    /** Bytes held. */
    public long byteSize() {
        return capacity * bytesPerPosition(keys.length, rowSize);
    }

    /** Bytes one position takes in a cache of {@code layers} layers of rows of {@code rowSize}: a key and a value. */
    public static long bytesPerPosition(int layers, int rowSize) {
        return 2L * Float.BYTES * layers * rowSize;
    }
}
