package dev.safemerge.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** scale·B·A as a whole and in element ranges, against the product written out as a sum in double precision. */
class LoraWeightsTest {
    private static LoraWeights random(SplittableRandom random, int rank, int in, int out, boolean fanInFanOut) {
        float[] a = new float[rank * in];
        float[] b = new float[out * rank];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) random.nextGaussian();
        }
        for (int i = 0; i < b.length; i++) {
            b[i] = (float) random.nextGaussian();
        }
        return new LoraWeights(a, b, rank, in, out, 0.75f, fanInFanOut);
    }

    /** Element (o, i) of scale·B·A, stored at [o, i], or at [i, o] with fan_in_fan_out. */
    private static double[] product(LoraWeights w) {
        double[] product = new double[w.out() * w.in()];
        for (int o = 0; o < w.out(); o++) {
            for (int i = 0; i < w.in(); i++) {
                double sum = 0;
                for (int k = 0; k < w.rank(); k++) {
                    sum += (double) w.b()[o * w.rank() + k] * w.a()[k * w.in() + i];
                }
                product[w.fanInFanOut() ? i * w.out() + o : o * w.in() + i] = w.scale() * sum;
            }
        }
        return product;
    }

    @Test
    void deltaIsTheScaledProductLaidOutLikeTheBaseWeight() {
        SplittableRandom random = new SplittableRandom(3);
        for (boolean fanInFanOut : new boolean[] {false, true}) {
            LoraWeights w = random(random, 3, 7, 5, fanInFanOut);
            double[] want = product(w);
            float[] got = w.delta();
            assertThat(got).hasSize(want.length);
            for (int j = 0; j < want.length; j++) {
                assertThat((double) got[j])
                        .as("fan_in_fan_out %s [%d]", fanInFanOut, j)
                        .isCloseTo(want[j], within(1e-5));
            }
            assertThat(w.columns()).isEqualTo(fanInFanOut ? 5 : 7);
        }
    }

    @Test
    void rangesThatStraddleRowsReadAndAddTheSameElementsAsTheWholeDelta() {
        SplittableRandom random = new SplittableRandom(11);
        for (boolean fanInFanOut : new boolean[] {false, true}) {
            LoraWeights w = random(random, 2, 6, 9, fanInFanOut);
            float[] whole = w.delta();
            for (int trial = 0; trial < 50; trial++) {
                int first = random.nextInt(whole.length);
                int count = random.nextInt(whole.length - first + 1);
                int offset = random.nextInt(4);
                float[] read = new float[offset + count];
                w.readDelta(first, read, offset, count);
                float[] added = new float[offset + count];
                float[] expectedSum = new float[offset + count];
                for (int j = 0; j < added.length; j++) {
                    added[j] = (float) random.nextGaussian();
                    expectedSum[j] = j < offset ? added[j] : added[j] + whole[first + j - offset];
                }
                w.addDelta(first, added, offset, count);
                for (int j = 0; j < count; j++) {
                    assertThat(read[offset + j]).isEqualTo(whole[first + j]);
                }
                assertThat(added).containsExactly(expectedSum);
            }
        }
    }
}
