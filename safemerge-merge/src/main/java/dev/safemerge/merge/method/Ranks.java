package dev.safemerge.merge.method;

import dev.safemerge.merge.kernel.MergeKernels;
import java.util.Arrays;

/**
 * Rank selection over magnitudes in linear time. Ranks are ascending by the raw bits of {@code |x|} (NaN sorts last)
 * with ties broken by element index, a total order, so pruning is deterministic where torch's argsort picks tied
 * elements arbitrarily.
 *
 * <p>A rank is found from a histogram of the top 16 magnitude bits (only of the buckets that a strided sample says
 * can hold it), refined by a histogram of the low 16 bits only when some magnitude there has any (never for bf16
 * values), and kept as a {@link Tie}: the magnitude at that rank and how many equal magnitudes precede it. Which
 * element that is gets settled while the vector is replayed in index order, so applying a window costs no pass of its
 * own.
 */
final class Ranks {
    private Ranks() {}

    /** Replays a vector block by block in index order (a task vector is recomputed rather than stored). */
    interface Blocks {
        /** Elements in the vector. */
        int length();

        void forEach(BlockConsumer consumer);

        /** One element, for sampling. */
        float get(int index);

        /** A stored vector as a single block. */
        static Blocks of(float[] values) {
            return new Blocks() {
                @Override
                public int length() {
                    return values.length;
                }

                @Override
                public void forEach(BlockConsumer consumer) {
                    consumer.accept(0, values, values.length);
                }

                @Override
                public float get(int index) {
                    return values[index];
                }
            };
        }
    }

    @FunctionalInterface
    interface BlockConsumer {
        /** {@code block[0, count)} holds elements {@code [start, start + count)}. */
        void accept(int start, float[] block, int count);
    }

    /** The element at some ascending rank: its magnitude bits, preceded by {@code occurrence} equal magnitudes. */
    record Tie(int bits, int occurrence) {}

    static int bits(float magnitude) {
        return Float.floatToRawIntBits(magnitude) & 0x7fffffff;
    }

    /**
     * Counts of magnitudes by their top 16 bits, filled block by block; {@code below} more elements lie under the
     * counted buckets when only a bracket of buckets was counted.
     */
    static final class Histogram {
        private final int[] counts;
        private final int below;
        private int lowBitsSeen;

        Histogram() {
            this(new int[1 << 16], 0, 0);
        }

        private Histogram(int[] counts, int below, int lowBitsSeen) {
            this.counts = counts;
            this.below = below;
            this.lowBitsSeen = lowBitsSeen & 0xffff;
        }

        void add(float[] block, int count) {
            int low = 0;
            for (int j = 0; j < count; j++) {
                int b = bits(block[j]);
                counts[b >>> 16]++;
                low |= b;
            }
            lowBitsSeen |= low & 0xffff;
        }

        /** The tie at ascending {@code rank}; {@code replay} gives the same vector again when the low bits matter. */
        Tie tieAt(int rank, Blocks replay) {
            int bucket = 0;
            int below = this.below;
            while (below + counts[bucket] <= rank) {
                below += counts[bucket++];
            }
            if (lowBitsSeen == 0) {
                return new Tie(bucket << 16, rank - below);
            }
            int highBucket = bucket;
            int[] low = new int[1 << 16];
            replay.forEach((start, block, count) -> {
                for (int j = 0; j < count; j++) {
                    int b = bits(block[j]);
                    if (b >>> 16 == highBucket) {
                        low[b & 0xffff]++;
                    }
                }
            });
            int lowBucket = 0;
            while (below + low[lowBucket] <= rank) {
                below += low[lowBucket++];
            }
            return new Tie((highBucket << 16) | lowBucket, rank - below);
        }
    }

    /**
     * Ranks {@code [from, to)} of a vector as bounds on (magnitude bits, index); a null bound is
     * open. Empty when {@code from >= to}.
     */
    record Window(Tie low, Tie high, boolean empty) {
        /**
         * The window of ranks {@code [from, to)} of {@code delta}, in one pass over it that also adds its l1 norm to
         * {@code normStripes} when that is not null.
         */
        static Window of(Blocks delta, int from, int to, double[] normStripes) {
            MergeKernels kernels = MergeKernels.best();
            int n = delta.length();
            if (from >= to || (from == 0 && to == n)) {
                if (normStripes != null) {
                    delta.forEach((start, block, count) -> kernels.addMagnitudes(block, count, normStripes));
                }
                return new Window(null, null, from >= to);
            }
            // Only a bound that is not open needs its rank found.
            Histogram histogram = bracketed(delta, from == 0 ? to - 1 : from, to == n ? from : to - 1, normStripes);
            if (histogram == null) {
                Histogram full = new Histogram();
                delta.forEach((start, block, count) -> full.add(block, count));
                histogram = full;
            }
            Tie low = from == 0 ? null : histogram.tieAt(from, delta);
            Tie high = to == n ? null : histogram.tieAt(to - 1, delta);
            return new Window(low, high, false);
        }
        /** A fresh evaluation for one replay of the vector in index order. */
        Cursor cursor() {
            return new Cursor(this);
        }
    }

    private static final int SAMPLES = 4096;

    /**
     * A histogram of only the buckets that a strided sample says hold ranks {@code first..last}, or null when the
     * sample misled and those ranks lie outside. Most elements are then merely compared and counted, in vector lanes;
     * the few inside the bracket are counted one by one.
     */
    private static Histogram bracketed(Blocks delta, int first, int last, double[] normStripes) {
        int n = delta.length();
        int samples = Math.min(n, SAMPLES);
        int[] sample = new int[samples];
        for (int s = 0; s < samples; s++) {
            sample[s] = bits(delta.get((int) ((long) s * n / samples)));
        }
        Arrays.sort(sample);
        int lowBits = sample[samplePosition(first, n, samples, -1)] & 0xffff0000;
        int highBits = sample[samplePosition(last, n, samples, 1)] | 0xffff;
        MergeKernels kernels = MergeKernels.best();
        int[] counts = new int[1 << 16];
        int[] above = new int[1];
        int[] lowBitsSeen = new int[1];
        delta.forEach(new BlockConsumer() {
            private int[] selected = new int[0];

            @Override
            public void accept(int start, float[] block, int count) {
                if (normStripes != null) {
                    kernels.addMagnitudes(block, count, normStripes);
                }
                if (selected.length < count + MergeKernels.SELECT_SLACK) {
                    selected = new int[count + MergeKernels.SELECT_SLACK];
                }
                above[0] += kernels.countAbove(block, count, highBits);
                int inside = kernels.selectMagnitudes(block, count, lowBits, highBits, selected);
                for (int k = 0; k < inside; k++) {
                    counts[selected[k] >>> 16]++;
                    lowBitsSeen[0] |= selected[k];
                }
            }
        });
        int inside = 0;
        for (int count : counts) {
            inside += count;
        }
        int below = n - above[0] - inside;
        if (first < below || last >= below + inside) {
            return null;
        }
        return new Histogram(counts, below, lowBitsSeen[0]);
    }

    /**
     * The sorted sample index a few standard deviations of the sampled rank below ({@code side = -1}) or above
     * ({@code side = 1}) where {@code rank} falls.
     */
    private static int samplePosition(int rank, int n, int samples, int side) {
        double q = (double) rank / n;
        double margin = 5 * Math.sqrt(samples * q * (1 - q)) + 8;
        long position = Math.round(q * samples + side * margin);
        return (int) Math.clamp(position, 0, samples - 1);
    }

    /** Zeroes the elements outside a window, block by block in index order. */
    static final class Cursor {
        private final Window window;
        private final TieIndex low;
        private final TieIndex high;

        private Cursor(Window window) {
            this.window = window;
            this.low = window.low() == null ? null : new TieIndex(window.low());
            this.high = window.high() == null ? null : new TieIndex(window.high());
        }

        void keep(MergeKernels kernels, int start, float[] block, int count) {
            if (window.empty()) {
                Arrays.fill(block, 0, count, 0f);
                return;
            }
            // An open bound is (0, 0) below and (max, max) above, which every element passes.
            int lowBits = low == null ? 0 : low.tie.bits();
            int lowIndex = low == null ? 0 : low.indexUpTo(kernels, start, block, count);
            int highBits = high == null ? Integer.MAX_VALUE : high.tie.bits();
            int highIndex = high == null ? Integer.MAX_VALUE : high.indexUpTo(kernels, start, block, count);
            kernels.keepRankWindow(block, count, start, lowBits, lowIndex, highBits, highIndex);
        }
    }

    /** Finds the element index of a tie by counting equal magnitudes block by block. */
    private static final class TieIndex {
        private final Tie tie;
        private int seen;
        private int index = -1;

        TieIndex(Tie tie) {
            this.tie = tie;
        }

        /**
         * The tie's index once it lies in this block or an earlier one; otherwise {@link Integer#MAX_VALUE}, which puts
         * every equal magnitude of this block before it, as they are.
         */
        int indexUpTo(MergeKernels kernels, int start, float[] block, int count) {
            if (index >= 0) {
                return index;
            }
            int equal = kernels.countMagnitude(block, count, tie.bits());
            if (seen + equal <= tie.occurrence()) {
                seen += equal;
                return Integer.MAX_VALUE;
            }
            int skip = tie.occurrence() - seen;
            for (int j = 0; ; j++) {
                if (bits(block[j]) == tie.bits() && skip-- == 0) {
                    index = start + j;
                    return index;
                }
            }
        }
    }

    /** Marks the {@code k} largest magnitudes. */
    static boolean[] keepTop(float[] magnitudes, int k) {
        int n = magnitudes.length;
        boolean[] keep = new boolean[n];
        if (k <= 0) {
            return keep;
        }
        if (k >= n) {
            Arrays.fill(keep, true);
            return keep;
        }
        Histogram histogram = new Histogram();
        histogram.add(magnitudes, n);
        Tie low = histogram.tieAt(n - k, Blocks.of(magnitudes));
        int lowIndex = new TieIndex(low).indexUpTo(MergeKernels.best(), 0, magnitudes, n);
        for (int i = 0; i < n; i++) {
            int b = bits(magnitudes[i]);
            keep[i] = b > low.bits() | (b == low.bits() & i >= lowIndex);
        }
        return keep;
    }

    /**
     * Ascending ranks 1..n of the magnitudes of a row, ties by position; used per row by DELLA. A stable radix sort of
     * the magnitude bits, a byte at a time, skipping the bytes in which all magnitudes agree (the low two of bf16
     * values): linear in n where a comparison sort of every row dominated the method's time. One instance serves one
     * thread, row after row, reusing its arrays.
     */
    static final class RowRanks {
        private final int[] keys;
        private final int[] order;
        private final int[] nextKeys;
        private final int[] nextOrder;
        private final int[] ranks;
        private final int[] starts = new int[257];

        RowRanks(int length) {
            keys = new int[length];
            order = new int[length];
            nextKeys = new int[length];
            nextOrder = new int[length];
            ranks = new int[length];
        }

        /** The ranks of {@code |values[j]|} for j below the row length, valid until the next call. */
        int[] of(float[] values) {
            int n = ranks.length;
            int[] keys = this.keys;
            int[] order = this.order;
            int[] nextKeys = this.nextKeys;
            int[] nextOrder = this.nextOrder;
            int anyBits = 0;
            int allBits = -1;
            for (int j = 0; j < n; j++) {
                keys[j] = bits(values[j]);
                order[j] = j;
                anyBits |= keys[j];
                allBits &= keys[j];
            }
            for (int shift = 0; shift < Integer.SIZE; shift += 8) {
                if ((((anyBits ^ allBits) >>> shift) & 0xff) == 0) {
                    continue;
                }
                Arrays.fill(starts, 0);
                for (int j = 0; j < n; j++) {
                    starts[((keys[j] >>> shift) & 0xff) + 1]++;
                }
                for (int digit = 0; digit < 256; digit++) {
                    starts[digit + 1] += starts[digit];
                }
                for (int j = 0; j < n; j++) {
                    int position = starts[(keys[j] >>> shift) & 0xff]++;
                    nextKeys[position] = keys[j];
                    nextOrder[position] = order[j];
                }
                int[] swap = keys;
                keys = nextKeys;
                nextKeys = swap;
                swap = order;
                order = nextOrder;
                nextOrder = swap;
            }
            for (int r = 0; r < n; r++) {
                ranks[order[r]] = r + 1;
            }
            return ranks;
        }
    }
}
