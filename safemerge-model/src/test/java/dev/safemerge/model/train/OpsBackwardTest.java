package dev.safemerge.model.train;

import dev.safemerge.model.ops.Activation;
import dev.safemerge.model.ops.Attention;
import dev.safemerge.model.ops.RmsNorm;
import dev.safemerge.model.ops.Rope;
import dev.safemerge.model.ops.Softmax;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Each op's backward against finite differences of its forward (see {@link GradCheck}), on seeded random inputs.
 * Losses are Σ y⊙r in float64 over at most a few hundred float32 outputs of order 1.
 */
class OpsBackwardTest {
    private static final double STEP = 1e-2;

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void rmsNormBothVariants(boolean offsetByOne) {
        SplittableRandom random = new SplittableRandom(1);
        int n = 24;
        int rows = 3;
        float[] x = GradCheck.gaussian(rows * n, 1, random);
        float[] w = GradCheck.gaussian(n, 0.5, random);
        float[] r = GradCheck.gaussian(rows * n, 1, random);
        float[] dx = new float[x.length];
        float[] dw = new float[n];
        for (int row = 0; row < rows; row++) {
            RmsNorm.backward(x, row * n, w, offsetByOne, 1e-5f, r, row * n, dx, row * n, dw, n);
        }
        java.util.function.DoubleSupplier loss = () -> {
            float[] y = new float[x.length];
            for (int row = 0; row < rows; row++) {
                RmsNorm.forward(x, row * n, w, offsetByOne, 1e-5f, y, row * n, n);
            }
            return GradCheck.project(y, r);
        };
        GradCheck.check("x", x, dx, loss, STEP, x.length, 1);
        GradCheck.check("weight", w, dw, loss, STEP, n, 2);
    }

    @Test
    void ropeRotation() {
        SplittableRandom random = new SplittableRandom(2);
        int dim = 16;
        float[] cos = new float[dim / 2];
        float[] sin = new float[dim / 2];
        Rope.table(Rope.unscaled(dim, 10000), 7, cos, sin);
        float[] x = GradCheck.gaussian(dim, 1, random);
        float[] r = GradCheck.gaussian(dim, 1, random);
        float[] dx = r.clone();
        Rope.rotateBackward(dx, 0, cos, sin);
        GradCheck.check(
                "x",
                x,
                dx,
                () -> {
                    float[] y = x.clone();
                    Rope.rotate(y, 0, cos, sin);
                    return GradCheck.project(y, r);
                },
                STEP,
                dim,
                3);
    }

    @ParameterizedTest
    @EnumSource(Activation.class)
    void gatedActivation(Activation activation) {
        SplittableRandom random = new SplittableRandom(3);
        int n = 40;
        float[] gate = GradCheck.gaussian(n, 2, random);
        float[] up = GradCheck.gaussian(n, 1, random);
        float[] r = GradCheck.gaussian(n, 1, random);
        float[] dGate = new float[n];
        float[] dUp = new float[n];
        activation.gateBackward(gate, up, r, dGate, dUp, 0, n);
        java.util.function.DoubleSupplier loss = () -> {
            float[] y = gate.clone();
            activation.gate(y, up, 0, n);
            return GradCheck.project(y, r);
        };
        GradCheck.check("gate", gate, dGate, loss, STEP, n, 4);
        GradCheck.check("up", up, dUp, loss, STEP, n, 5);
    }

    @Test
    void softmaxAndSoftcap() {
        SplittableRandom random = new SplittableRandom(4);
        int n = 12;
        float[] x = GradCheck.gaussian(n, 2, random);
        float[] r = GradCheck.gaussian(n, 1, random);
        float cap = 1.5f;
        float[] capped = x.clone();
        Softmax.softcap(capped, 0, n, cap);
        float[] p = capped.clone();
        Softmax.forward(p, 0, n);
        float[] d = r.clone();
        Softmax.backward(p, d, 0, n);
        Softmax.softcapBackward(capped, d, 0, n, cap);
        GradCheck.check(
                "x",
                x,
                d,
                () -> {
                    float[] y = x.clone();
                    Softmax.softcap(y, 0, n, cap);
                    Softmax.forward(y, 0, n);
                    return GradCheck.project(y, r);
                },
                STEP,
                n,
                6);
    }

    /** Causal attention over 6 positions with 4 query heads on 2 kv heads, optional window 3 and softcap. */
    @ParameterizedTest
    @CsvSource({"0, 0", "3, 0", "0, 2.5", "3, 2.5"})
    void causalGqaAttentionWithWindowAndSoftcap(int window, float softcap) {
        SplittableRandom random = new SplittableRandom(5);
        Attention.Shape shape = new Attention.Shape(4, 2, 8, 0.35f, softcap);
        int tokens = 6;
        float[] q = GradCheck.gaussian(tokens * shape.qDim(), 1, random);
        float[] k = GradCheck.gaussian(tokens * shape.kvDim(), 1, random);
        float[] v = GradCheck.gaussian(tokens * shape.kvDim(), 1, random);
        float[] r = GradCheck.gaussian(tokens * shape.qDim(), 1, random);
        float[] dq = new float[q.length];
        float[] dk = new float[k.length];
        float[] dv = new float[v.length];
        float[] s1 = new float[tokens];
        float[] s2 = new float[tokens];
        float[] s3 = new float[tokens];
        for (int i = 0; i < tokens; i++) {
            int first = window > 0 ? Math.max(0, i - window + 1) : 0;
            Attention.backward(
                    shape,
                    q,
                    i * shape.qDim(),
                    k,
                    v,
                    first,
                    i,
                    r,
                    i * shape.qDim(),
                    dq,
                    dk,
                    dv,
                    0,
                    shape.heads(),
                    s1,
                    s2,
                    s3);
        }
        java.util.function.DoubleSupplier loss = () -> {
            float[] out = new float[q.length];
            float[] scores = new float[tokens];
            for (int i = 0; i < tokens; i++) {
                int first = window > 0 ? Math.max(0, i - window + 1) : 0;
                Attention.forward(shape, q, i * shape.qDim(), k, v, first, i, scores, out, i * shape.qDim());
            }
            return GradCheck.project(out, r);
        };
        GradCheck.check("q", q, dq, loss, STEP, q.length, 7);
        GradCheck.check("k", k, dk, loss, STEP, k.length, 8);
        GradCheck.check("v", v, dv, loss, STEP, v.length, 9);
    }
}
