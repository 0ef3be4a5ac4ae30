package dev.safemerge.model.ops;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class OpsTest {
    @Test
    void rmsNormScalesByWeightOrOnePlusWeight() {
        float[] x = {3, 4};
        // mean of squares 12.5, so x / sqrt(12.5) = {0.8485, 1.1314}
        float[] out = new float[2];
        RmsNorm.forward(x, 0, new float[] {2, 0.5f}, false, 0, out, 0, 2);
        assertThat(out[0]).isCloseTo((float) (2 * 3 / Math.sqrt(12.5)), within(1e-6f));
        assertThat(out[1]).isCloseTo((float) (0.5 * 4 / Math.sqrt(12.5)), within(1e-6f));
        RmsNorm.forward(x, 0, new float[] {2, 0.5f}, true, 0, out, 0, 2);
        assertThat(out[0]).isCloseTo((float) (3 * 3 / Math.sqrt(12.5)), within(1e-6f));
        assertThat(out[1]).isCloseTo((float) (1.5 * 4 / Math.sqrt(12.5)), within(1e-6f));
    }

    @Test
    void activationsMatchTheirDefinitions() {
        assertThat(Activation.SILU.apply(1f)).isCloseTo((float) (1 / (1 + Math.exp(-1))), within(1e-7f));
        // GELU(1) = 0.5·(1 + erf(1/√2)) = 0.8413447; the tanh form gives 0.8411920
        assertThat(Activation.GELU.apply(1f)).isCloseTo(0.8413447f, within(2e-7f));
        assertThat(Activation.GELU_TANH.apply(1f)).isCloseTo(0.8411920f, within(2e-7f));
        assertThat(Activation.GELU.apply(-3f)).isCloseTo(-0.0040496f, within(2e-7f));
    }

    @Test
    void erfcIsAccurateToFloatPrecision() {
        double[][] cases = {
            {0.5, 1 - 0.5204998778130465}, {1.0, 1 - 0.8427007929497149}, {2.0, 1 - 0.9953222650189527},
            {3.0, 2.209049699858544e-05}, {-1.0, 1 + 0.8427007929497149}, {0.0, 1.0}
        };
        for (double[] c : cases) {
            assertThat(Activation.Erf.erfc(c[0])).as("erfc(%s)", c[0]).isCloseTo(c[1], within(Math.abs(c[1]) * 2e-7));
        }
    }

    @Test
    void softmaxSumsToOneAndSoftcapBoundsValues() {
        float[] x = {1, 2, 3, 1000};
        Softmax.forward(x, 0, 3);
        assertThat(x[0] + x[1] + x[2]).isCloseTo(1f, within(1e-6f));
        assertThat(x[2] / x[1]).isCloseTo((float) Math.E, within(1e-5f));
        assertThat(x[3]).isEqualTo(1000f);
        float[] y = {100, -100, 1};
        Softmax.softcap(y, 0, 3, 5);
        assertThat(y[0]).isCloseTo(5f, within(1e-6f));
        assertThat(y[1]).isCloseTo(-5f, within(1e-6f));
        assertThat(y[2]).isCloseTo((float) (5 * Math.tanh(0.2)), within(1e-6f));
    }

    @Test
    void inferencePathsStayWithinTheKernelExponentialsBoundOfTheReference() {
        // Kernels.exp is within 1.01 ulp of e^x and the kernels' SiLU within 2.93·2^-24 relative; the reference rounds
        // e^x once from double. So a gated value (one more rounding for the product) and a probability (exponentials
        // and the double sum, then one scaling) differ from the reference by less than 2^-20 of their size.
        SplittableRandom random = new SplittableRandom(20261203);
        for (int trial = 0; trial < 200; trial++) {
            int n = 1 + random.nextInt(70);
            float[] gate = new float[n];
            float[] up = new float[n];
            float[] scores = new float[n];
            for (int i = 0; i < n; i++) {
                gate[i] = (float) (random.nextGaussian() * 8);
                up[i] = (float) random.nextGaussian();
                scores[i] = (float) (random.nextGaussian() * 6);
            }
            float[] reference = gate.clone();
            float[] fast = gate.clone();
            Activation.SILU.gate(reference, up, 0, n);
            Activation.SILU.gateFast(fast, up, 0, n);
            float[] p = scores.clone();
            float[] q = scores.clone();
            Softmax.forward(p, 0, n);
            Softmax.forwardFast(q, 0, n);
            for (int i = 0; i < n; i++) {
                assertThat(fast[i])
                        .isCloseTo(reference[i], within(Math.abs(reference[i]) * 0x1p-20f + Float.MIN_NORMAL));
                assertThat(q[i]).isCloseTo(p[i], within(p[i] * 0x1p-20f + Float.MIN_NORMAL));
            }
        }
    }

    @Test
    void ropePairsComponentKWithKPlusHalfDimension() {
        int dim = 8;
        Rope.Frequencies f = Rope.unscaled(dim, 10000);
        float[] cos = new float[dim / 2];
        float[] sin = new float[dim / 2];
        int position = 5;
        Rope.table(f, position, cos, sin);
        float[] x = {1, 2, 3, 4, 5, 6, 7, 8};
        float[] rotated = x.clone();
        Rope.rotate(rotated, 0, cos, sin);
        for (int k = 0; k < dim / 2; k++) {
            double angle = position * Math.pow(10000, -2.0 * k / dim);
            assertThat(rotated[k])
                    .isCloseTo((float) (x[k] * Math.cos(angle) - x[k + 4] * Math.sin(angle)), within(1e-5f));
            assertThat(rotated[k + 4])
                    .isCloseTo((float) (x[k + 4] * Math.cos(angle) + x[k] * Math.sin(angle)), within(1e-5f));
        }
    }

    @Test
    void llama3ScalingKeepsHighFrequenciesAndDividesLowOnes() {
        int dim = 64;
        float[] plain = Rope.defaultInvFreq(dim, 500000);
        float[] scaled = Rope.llama3(dim, 500000, 32, 1, 4, 8192).invFreq();
        for (int k = 0; k < plain.length; k++) {
            double wavelen = 2 * Math.PI / plain[k];
            if (wavelen < 8192 / 4.0) {
                assertThat(scaled[k]).isEqualTo(plain[k]);
            } else if (wavelen > 8192) {
                assertThat(scaled[k]).isCloseTo(plain[k] / 32, within(plain[k] * 1e-6f));
            } else {
                assertThat(scaled[k]).isBetween(plain[k] / 32, plain[k]);
            }
        }
    }

    @Test
    void yarnInterpolatesLowFrequenciesAndScalesAttention() {
        Rope.Frequencies f = Rope.yarn(64, 10000, 4, 4096, 32, 1, true, (float) Rope.yarnMscale(4, 1));
        float[] plain = Rope.defaultInvFreq(64, 10000);
        assertThat(f.invFreq()[0]).isEqualTo(plain[0]);
        assertThat(f.invFreq()[31]).isCloseTo(plain[31] / 4, within(plain[31] * 1e-5f));
        assertThat(f.attentionFactor()).isCloseTo((float) (0.1 * Math.log(4) + 1), within(1e-6f));
    }

    @Test
    void attentionUsesContiguousKvGroupsAndTheGivenKeyRange() {
        SplittableRandom random = new SplittableRandom(5);
        int heads = 4;
        int kvHeads = 2;
        int headDim = 3;
        int positions = 6;
        Attention.Shape shape = new Attention.Shape(heads, kvHeads, headDim, 0.5f, 0);
        float[] q = new float[heads * headDim];
        float[] keys = new float[positions * kvHeads * headDim];
        float[] values = new float[positions * kvHeads * headDim];
        for (float[] a : new float[][] {q, keys, values}) {
            for (int i = 0; i < a.length; i++) {
                a[i] = (float) random.nextGaussian();
            }
        }
        float[] out = new float[heads * headDim];
        Attention.forward(shape, q, 0, keys, values, 2, 4, new float[positions], out, 0);
        for (int h = 0; h < heads; h++) {
            int kv = h / 2;
            double[] weights = new double[3];
            double total = 0;
            for (int j = 2; j <= 4; j++) {
                double score = 0;
                for (int d = 0; d < headDim; d++) {
                    score += q[h * headDim + d] * keys[(j * kvHeads + kv) * headDim + d];
                }
                weights[j - 2] = Math.exp(score * 0.5);
                total += weights[j - 2];
            }
            for (int d = 0; d < headDim; d++) {
                double expected = 0;
                for (int j = 2; j <= 4; j++) {
                    expected += weights[j - 2] / total * values[(j * kvHeads + kv) * headDim + d];
                }
                assertThat((double) out[h * headDim + d]).isCloseTo(expected, within(1e-5));
            }
        }
    }
}
