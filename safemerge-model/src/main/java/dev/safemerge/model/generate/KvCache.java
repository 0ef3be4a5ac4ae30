package dev.safemerge.model.generate;

import java.util.Arrays;

/**
 * Keys (after rope) and values of one sequence, per layer, stored as rows of {@code [kvHeads·headDim]}. A
 * full-attention layer keeps every processed position and grows by doubling; a sliding-window layer keeps only the
 * last {@code window} positions, in a ring: position p lives in row {@code p % slots(layer)}, and its rows never
 * outgrow the window.
 */
public final class KvCache {
    private final float[][] keys;
    private final float[][] values;
    private final int rowSize;
    private final int[] windows;
    private final int[] slots;
    private int length;

    /**
     * @param windows per layer: the sliding window in positions, or 0 for full attention
     * @param expectedLength positions the sequence will reach (the cache grows past it as needed)
     */
    public KvCache(int rowSize, int[] windows, int expectedLength) {
        this.rowSize = rowSize;
        this.windows = windows.clone();
        this.slots = new int[windows.length];
        this.keys = new float[windows.length][];
        this.values = new float[windows.length][];
        for (int l = 0; l < windows.length; l++) {
            slots[l] = slotsFor(this.windows[l], Math.max(1, expectedLength));
            keys[l] = new float[slots[l] * rowSize];
            values[l] = new float[slots[l] * rowSize];
        }
    }

    /** Number of positions processed (a sliding-window layer holds only the last of them). */
    public int length() {
        return length;
    }

    public float[] keys(int layer) {
        return keys[layer];
    }

    public float[] values(int layer) {
        return values[layer];
    }

    /** Rows the layer's arrays hold; position p is row {@code p % slots(layer)}. */
    public int slots(int layer) {
        return slots[layer];
    }

    /**
     * Makes room for {@code extra} more positions (the arrays of {@link #keys}/{@link #values} may be replaced). A
     * sliding-window layer grows only until it holds its window; until then no position has wrapped around, so its
     * rows keep their places.
     */
    public void reserve(int extra) {
        long needed = (long) length + extra;
        for (int l = 0; l < keys.length; l++) {
            int wanted = slotsFor(windows[l], needed);
            if (wanted <= slots[l]) {
                continue;
            }
            int grown = slotsFor(windows[l], Math.max(wanted, 2L * slots[l]));
            keys[l] = Arrays.copyOf(keys[l], grown * rowSize);
            values[l] = Arrays.copyOf(values[l], grown * rowSize);
            slots[l] = grown;
        }
    }

    /** Marks {@code count} positions written by the forward pass as stored. */
    public void advance(int count) {
        for (int l = 0; l < keys.length; l++) {
            if (windows[l] == 0 && length + count > slots[l]) {
                throw new IllegalStateException("advance past reserved capacity");
            }
        }
        length += count;
    }

    /** Forgets every position so the cache can serve a new sequence. */
    public void clear() {
        length = 0;
    }

    /** Bytes held. */
    public long byteSize() {
        long rows = 0;
        for (int s : slots) {
            rows += s;
        }
        return rows * 2L * Float.BYTES * rowSize;
    }

    /**
     * Bytes the cache of a sequence of {@code positions} positions holds when sized for it: a key and a value row per
     * layer and kept position, where a sliding-window layer keeps at most its window.
     */
    public static long bytesFor(int rowSize, int[] windows, long positions) {
        long rows = 0;
        for (int window : windows) {
            rows += slotsFor(window, positions);
        }
        return rows * 2L * Float.BYTES * rowSize;
    }

    private static int slotsFor(int window, long positions) {
        long kept = window > 0 ? Math.min(positions, window) : positions;
        return Math.toIntExact(kept);
    }
}
