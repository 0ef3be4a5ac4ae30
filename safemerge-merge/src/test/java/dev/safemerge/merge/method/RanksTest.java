package dev.safemerge.merge.method;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import dev.safemerge.merge.kernel.MergeKernels;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Rank windows applied block by block against a full sort by (magnitude bits, index). */
class RanksTest {
    private static final int BLOCK = 64;

    @Test
    void windowsMatchAFullSortWithTiesAcrossBlocks() {
        SplittableRandom random = new SplittableRandom(3);
        for (int trial = 0; trial < 300; trial++) {
            // Beyond the sample size too, where the sample is strided.
            int n = 1 + random.nextInt(trial % 3 == 0 ? 30_000 : 700);
            boolean bf16 = trial % 2 == 0;
            float[] values = new float[n];
            for (int i = 0; i < n; i++) {
                float v = random.nextInt(4) == 0 ? 0.5f : (float) random.nextGaussian();
                if (random.nextInt(20) == 0) {
                    v = random.nextBoolean() ? Float.NaN : Float.POSITIVE_INFINITY;
                }
                // Few distinct values make long runs of ties; float32 values exercise the low-bits refinement.
                values[i] = (random.nextBoolean() ? 1 : -1)
                        * (bf16 ? Float.intBitsToFloat(Float.floatToRawIntBits(v) & 0xfff00000) : v);
            }
            int from = random.nextInt(n + 1);
            int to = from + random.nextInt(n - from + 1);
            if (random.nextInt(4) == 0) {
                to = n;
            }
            assertArrayEquals(
                    expected(values, from, to), windowed(values, from, to), "n " + n + " [" + from + ", " + to + ")");
        }
    }

    @Test
    void aSampleThatMissesTheRanksFallsBackToTheFullHistogram() {
        // The strided sample (every other element here) sees only small values; the top ranks are all large ones.
        int n = 2 * 4096;
        float[] values = new float[n];
        SplittableRandom random = new SplittableRandom(7);
        for (int i = 0; i < n; i++) {
            values[i] = (float) random.nextGaussian() * (i % 2 == 0 ? 1e-3f : 1f);
        }
        for (int[] window : new int[][] {{n - 1000, n}, {n - 3000, n - 100}, {0, 500}, {5000, 7000}}) {
            assertArrayEquals(
                    expected(values, window[0], window[1]),
                    windowed(values, window[0], window[1]),
                    "[" + window[0] + ", " + window[1] + ")");
        }
    }

    @Test
    void keepTopMatchesAFullSort() {
        SplittableRandom random = new SplittableRandom(5);
        for (int trial = 0; trial < 100; trial++) {
            int n = 1 + random.nextInt(500);
            float[] values = new float[n];
            for (int i = 0; i < n; i++) {
                values[i] = random.nextInt(3) == 0 ? 0.25f : (float) Math.abs(random.nextGaussian());
            }
            int k = random.nextInt(n + 1);
            boolean[] keep = Ranks.keepTop(values, k);
            float[] kept = new float[n];
            for (int i = 0; i < n; i++) {
                kept[i] = keep[i] ? values[i] : 0;
            }
            assertArrayEquals(expected(values, n - k, n), kept);
        }
    }

    @Test
    void rowRanksMatchAFullSortByMagnitudeThenIndex() {
        SplittableRandom random = new SplittableRandom(9);
        for (int trial = 0; trial < 300; trial++) {
            int n = 1 + random.nextInt(trial % 3 == 0 ? 20_000 : 300);
            float[] values = new float[n];
            for (int i = 0; i < n; i++) {
                float v = switch (random.nextInt(8)) {
                    case 0 -> 0.5f;
                    case 1 -> 0f;
                    case 2 -> random.nextBoolean() ? Float.NaN : Float.POSITIVE_INFINITY;
                    default -> (float) random.nextGaussian();
                };
                // bf16-like values leave the low bytes alike (passes skipped); float32 values use every byte.
                if (trial % 2 == 0) {
                    v = Float.intBitsToFloat(Float.floatToRawIntBits(v) & 0xffff0000);
                }
                values[i] = random.nextBoolean() ? v : -v;
            }
            int[] expected = expectedRanks(values);
            Ranks.RowRanks rowRanks = new Ranks.RowRanks(n);
            assertArrayEquals(expected, rowRanks.of(values), "n " + n);
            // A second row through the same instance: nothing of the first may leak into it.
            float[] reversed = new float[n];
            for (int j = 0; j < n; j++) {
                reversed[j] = values[n - 1 - j];
            }
            assertArrayEquals(expectedRanks(reversed), rowRanks.of(reversed), "second row, n " + n);
        }
    }

    /** Ranks 1..n by a full sort of (magnitude bits, index). */
    private static int[] expectedRanks(float[] values) {
        int n = values.length;
        long[] keys = new long[n];
        for (int j = 0; j < n; j++) {
            keys[j] = ((long) (Float.floatToRawIntBits(values[j]) & 0x7fffffff) << 32) | j;
        }
        Arrays.sort(keys);
        int[] ranks = new int[n];
        for (int r = 0; r < n; r++) {
            ranks[(int) keys[r]] = r + 1;
        }
        return ranks;
    }

    private static float[] windowed(float[] values, int from, int to) {
        Ranks.Blocks blocks = new Ranks.Blocks() {
            @Override
            public int length() {
                return values.length;
            }

            @Override
            public void forEach(Ranks.BlockConsumer consumer) {
                for (int start = 0; start < values.length; start += BLOCK) {
                    int count = Math.min(BLOCK, values.length - start);
                    consumer.accept(start, Arrays.copyOfRange(values, start, start + count), count);
                }
            }

            @Override
            public float get(int index) {
                return values[index];
            }
        };
        Ranks.Cursor cursor = Ranks.Window.of(blocks, from, to, null).cursor();
        float[] result = new float[values.length];
        blocks.forEach((start, block, count) -> {
            cursor.keep(MergeKernels.best(), start, block, count);
            System.arraycopy(block, 0, result, start, count);
        });
        return result;
    }

    private static float[] expected(float[] values, int from, int to) {
        long[] keys = new long[values.length];
        for (int i = 0; i < values.length; i++) {
            keys[i] = ((long) (Float.floatToRawIntBits(values[i]) & 0x7fffffff) << 32) | i;
        }
        Arrays.sort(keys);
        float[] result = new float[values.length];
        for (int r = from; r < to; r++) {
            int i = (int) keys[r];
            result[i] = values[i];
        }
        return result;
    }
}
