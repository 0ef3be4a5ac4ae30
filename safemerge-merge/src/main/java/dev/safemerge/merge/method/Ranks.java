package dev.safemerge.merge.method;

import java.util.Arrays;

/**
 * Rank selection over non-negative magnitudes in linear time. Ranks are ascending with ties broken by element index,
 * a total order, so pruning is deterministic where torch's argsort picks tied elements arbitrarily.
 */
final class Ranks {
    private Ranks() {}

    /**
     * Marks the elements whose ascending rank lies in {@code [from, to)}.
     *
     * @param magnitudes non-negative values (NaN sorts last)
     */
    static boolean[] keepRankRange(float[] magnitudes, int from, int to) {
        boolean[] keep = new boolean[magnitudes.length];
        if (from >= to) {
            return keep;
        }
        long low = from == 0 ? Long.MIN_VALUE : keyAtRank(magnitudes, from);
        long high = to == magnitudes.length ? Long.MAX_VALUE : keyAtRank(magnitudes, to - 1);
        if (high == Long.MAX_VALUE) {
            // The top ranks (TIES): compare value bits first, the index only on a tie with the lowest kept value.
            int lowBits = (int) (low >>> 32);
            int lowIndex = (int) low;
            for (int i = 0; i < magnitudes.length; i++) {
                int b = bits(magnitudes[i]);
                keep[i] = b > lowBits | (b == lowBits & i >= lowIndex);
            }
            return keep;
        }
        for (int i = 0; i < magnitudes.length; i++) {
            long key = key(magnitudes, i);
            keep[i] = key >= low && key <= high;
        }
        return keep;
    }

    /** Marks the {@code k} largest magnitudes. */
    static boolean[] keepTop(float[] magnitudes, int k) {
        return keepRankRange(magnitudes, magnitudes.length - k, magnitudes.length);
    }

    private static long key(float[] magnitudes, int index) {
        return ((long) bits(magnitudes[index]) << 32) | index;
    }

    private static int bits(float magnitude) {
        return Float.floatToRawIntBits(Math.abs(magnitude)) & 0x7fffffff;
    }

    /** The (value bits, index) key of the element at ascending rank {@code rank}: two histogram passes and a scan. */
    private static long keyAtRank(float[] magnitudes, int rank) {
        int[] histogram = new int[1 << 16];
        for (float magnitude : magnitudes) {
            histogram[bits(magnitude) >>> 16]++;
        }
        int highBucket = 0;
        int below = 0;
        while (below + histogram[highBucket] <= rank) {
            below += histogram[highBucket++];
        }
        Arrays.fill(histogram, 0);
        for (float magnitude : magnitudes) {
            int b = bits(magnitude);
            if (b >>> 16 == highBucket) {
                histogram[b & 0xffff]++;
            }
        }
        int lowBucket = 0;
        while (below + histogram[lowBucket] <= rank) {
            below += histogram[lowBucket++];
        }
        int valueBits = (highBucket << 16) | lowBucket;
        int occurrence = rank - below;
        for (int i = 0; i < magnitudes.length; i++) {
            if (bits(magnitudes[i]) == valueBits && occurrence-- == 0) {
                return ((long) valueBits << 32) | i;
            }
        }
        throw new IllegalStateException("rank " + rank + " not found");
    }

    /**
     * Ascending ranks 1..n of {@code |values[offset + j * stride]|} for j in [0, n), ties by position; used per row by
     * DELLA.
     */
    static int[] ranksOfRow(float[] values, int offset, int n, int stride) {
        long[] keys = new long[n];
        for (int j = 0; j < n; j++) {
            keys[j] = ((long) bits(values[offset + j * stride]) << 32) | j;
        }
        Arrays.sort(keys);
        int[] ranks = new int[n];
        for (int r = 0; r < n; r++) {
            ranks[(int) keys[r]] = r + 1;
        }
        return ranks;
    }
}
