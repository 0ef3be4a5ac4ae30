package dev.safemerge.model.train;

import static org.assertj.core.api.Assertions.assertThat;

import dev.safemerge.tensor.DType;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class LoraLinearTest {
    private static final int TOKENS = 5;
    private static final int IN = 12;
    private static final int OUT = 10;
    private static final int RANK = 3;
    private static final double STEP = 1e-2;

    @ParameterizedTest
    @CsvSource({"F32, 0.0", "BF16, 0.0", "BF16, 0.3", "F16, 0.5"})
    void adapterGradientsMatchFiniteDifferences(DType dtype, float dropout) {
        SplittableRandom random = new SplittableRandom(11);
        FrozenMatrix w = FrozenMatrix.encode(OUT, IN, GradCheck.gaussian(OUT * IN, 0.5, random), dtype);
        float[] bias = GradCheck.gaussian(OUT, 0.5, random);
        Parameter a = new Parameter("a", GradCheck.gaussian(RANK * IN, 0.5, random), RANK, IN);
        Parameter b = new Parameter("b", GradCheck.gaussian(OUT * RANK, 0.5, random), OUT, RANK);
        LoraLinear layer = LoraLinear.adapted(w, bias, a, b, 16f / RANK, dropout);
        float[] x = GradCheck.gaussian(TOKENS * IN, 1, random);
        float[] r = GradCheck.gaussian(TOKENS * OUT, 1, random);

        LoraLinear.Cache[] cache = new LoraLinear.Cache[1];
        layer.forward(x, TOKENS, new SplittableRandom(5), cache);
        float[] dx = layer.backward(r, cache[0]);
        // The same dropout mask on every evaluation: a fresh generator with the same seed.
        java.util.function.DoubleSupplier loss =
                () -> GradCheck.project(layer.forward(x, TOKENS, new SplittableRandom(5), null), r);
        GradCheck.check("lora_A", a.values(), a.grad(), loss, STEP, 100, 1);
        GradCheck.check("lora_B", b.values(), b.grad(), loss, STEP, 100, 2);
        GradCheck.check("x", x, dx, loss, STEP, 100, 3);
    }

    @Test
    void fullFineTuningGradientsMatchFiniteDifferences() {
        SplittableRandom random = new SplittableRandom(12);
        Parameter w = new Parameter("w", GradCheck.gaussian(OUT * IN, 0.5, random), OUT, IN);
        Parameter bias = new Parameter("b", GradCheck.gaussian(OUT, 0.5, random), OUT);
        LoraLinear layer = LoraLinear.trainable(w, bias);
        float[] x = GradCheck.gaussian(TOKENS * IN, 1, random);
        float[] r = GradCheck.gaussian(TOKENS * OUT, 1, random);
        LoraLinear.Cache[] cache = new LoraLinear.Cache[1];
        layer.forward(x, TOKENS, null, cache);
        float[] dx = layer.backward(r, cache[0]);
        java.util.function.DoubleSupplier loss = () -> GradCheck.project(layer.forward(x, TOKENS, null, null), r);
        GradCheck.check("weight", w.values(), w.grad(), loss, STEP, 120, 1);
        GradCheck.check("bias", bias.values(), bias.grad(), loss, STEP, 10, 2);
        GradCheck.check("x", x, dx, loss, STEP, 60, 3);
    }

    @Test
    void zeroInitialisedBLeavesTheBaseOutputUnchanged() {
        SplittableRandom random = new SplittableRandom(13);
        FrozenMatrix w = FrozenMatrix.encode(OUT, IN, GradCheck.gaussian(OUT * IN, 0.5, random), DType.BF16);
        Parameter a = new Parameter("a", GradCheck.gaussian(RANK * IN, 0.5, random), RANK, IN);
        Parameter b = new Parameter("b", new float[OUT * RANK], OUT, RANK);
        float[] x = GradCheck.gaussian(TOKENS * IN, 1, random);
        float[] base = LoraLinear.frozen(w, null).forward(x, TOKENS, null, null);
        float[] adapted = LoraLinear.adapted(w, null, a, b, 2f, 0f).forward(x, TOKENS, null, null);
        assertThat(adapted).containsExactly(base);
    }
}
