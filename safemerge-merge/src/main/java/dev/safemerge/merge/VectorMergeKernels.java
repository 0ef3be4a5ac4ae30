package dev.safemerge.merge;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link ScalarMergeKernels} on the Vector API. Rounding to bf16 is the scalar bit trick lane by lane (round to
 * nearest even on the upper 16 bits, NaN quieted as {@code FloatCodec} does); float32 needs no rounding; float16
 * working precision is rare enough to stay on the scalar twin. The tail shorter than a vector goes through the
 * scalar twin, which computes the same per-element expressions.
 */
final class VectorMergeKernels implements MergeKernels {
    // Species must be static finals: the JIT only turns vector operations into instructions for constant species.
    private static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_PREFERRED;
    private static final int LANES = FLOATS.length();
    private static final ScalarMergeKernels SCALAR = ScalarMergeKernels.INSTANCE;

    private VectorMergeKernels() {}

    static VectorMergeKernels create() {
        if (LANES < 4) {
            throw new UnsupportedOperationException("vectors of " + LANES + " floats are too short");
        }
        return new VectorMergeKernels();
    }

    @Override
    public String name() {
        return "vector" + FLOATS.vectorBitSize();
    }

    /** Round to nearest even in bf16, kept as a float: the scalar {@link Precision#round} lane by lane. */
    static FloatVector roundBf16(FloatVector v) {
        IntVector bits = v.reinterpretAsInts();
        IntVector rounded = bits.add(
                        bits.lanewise(VectorOperators.LSHR, 16).and(1).add(0x7fff))
                .and(0xffff0000);
        VectorMask<Integer> nan = bits.and(0x7fffffff).compare(VectorOperators.GT, 0x7f800000);
        return rounded.blend(bits.and(0xffff0000).or(0x00400000), nan).reinterpretAsFloats();
    }

    private static FloatVector round(boolean bf16, FloatVector v) {
        return bf16 ? roundBf16(v) : v;
    }

    private static int bound(int length) {
        return length - length % LANES;
    }

    @Override
    public void round(Precision p, float[] a) {
        if (p != Precision.BF16) {
            SCALAR.round(p, a);
            return;
        }
        int bound = bound(a.length);
        for (int j = 0; j < bound; j += LANES) {
            roundBf16(FloatVector.fromArray(FLOATS, a, j)).intoArray(a, j);
        }
        SCALAR.round(p, a, bound, a.length);
    }

    @Override
    public void addWeighted(Precision p, float[] sum, float[] x, float weight) {
        if (p == Precision.F16) {
            SCALAR.addWeighted(p, sum, x, weight);
            return;
        }
        boolean bf16 = p == Precision.BF16;
        int bound = bound(sum.length);
        for (int j = 0; j < bound; j += LANES) {
            FloatVector product = FloatVector.fromArray(FLOATS, x, j).mul(weight);
            FloatVector.fromArray(FLOATS, sum, j).add(round(bf16, product)).intoArray(sum, j);
        }
        SCALAR.addWeighted(p, sum, x, weight, bound, sum.length);
    }

    @Override
    public void subtract(Precision p, float[] x, float[] base, float[] out) {
        if (p == Precision.F16) {
            SCALAR.subtract(p, x, base, out);
            return;
        }
        boolean bf16 = p == Precision.BF16;
        int bound = bound(out.length);
        for (int j = 0; j < bound; j += LANES) {
            FloatVector difference = FloatVector.fromArray(FLOATS, x, j).sub(FloatVector.fromArray(FLOATS, base, j));
            round(bf16, difference).intoArray(out, j);
        }
        SCALAR.subtract(p, x, base, out, bound, out.length);
    }

    @Override
    public void scale(Precision p, float[] a, float factor) {
        if (p == Precision.F16) {
            SCALAR.scale(p, a, factor);
            return;
        }
        boolean bf16 = p == Precision.BF16;
        int bound = bound(a.length);
        for (int j = 0; j < bound; j += LANES) {
            round(bf16, FloatVector.fromArray(FLOATS, a, j).mul(factor)).intoArray(a, j);
        }
        SCALAR.scale(p, a, factor, bound, a.length);
    }

    @Override
    public void add(float[] sum, float[] x) {
        int bound = bound(sum.length);
        for (int j = 0; j < bound; j += LANES) {
            FloatVector.fromArray(FLOATS, sum, j)
                    .add(FloatVector.fromArray(FLOATS, x, j))
                    .intoArray(sum, j);
        }
        SCALAR.add(sum, x, bound, sum.length);
    }

    @Override
    public void finishLinear(Precision p, float[] sum, boolean normalize, float divisor) {
        if (p == Precision.F16) {
            SCALAR.finishLinear(p, sum, normalize, divisor);
            return;
        }
        boolean bf16 = p == Precision.BF16;
        int bound = bound(sum.length);
        for (int j = 0; j < bound; j += LANES) {
            FloatVector total = round(bf16, FloatVector.fromArray(FLOATS, sum, j));
            (normalize ? round(bf16, total.div(divisor)) : total).intoArray(sum, j);
        }
        SCALAR.finishLinear(p, sum, normalize, divisor, bound, sum.length);
    }

    @Override
    public void electedAdd(Precision p, float[] mixed, float[] divisors, float[] delta, float[] signSum, float weight) {
        if (p == Precision.F16) {
            SCALAR.electedAdd(p, mixed, divisors, delta, signSum, weight);
            return;
        }
        boolean bf16 = p == Precision.BF16;
        FloatVector zero = FloatVector.zero(FLOATS);
        FloatVector weights = FloatVector.broadcast(FLOATS, weight);
        int bound = bound(mixed.length);
        for (int j = 0; j < bound; j += LANES) {
            // Math.signum(d) == (sum >= 0 ? 1 : -1): zero and NaN deltas never match, a NaN sum elects negative.
            VectorMask<Float> positive =
                    round(bf16, FloatVector.fromArray(FLOATS, signSum, j)).compare(VectorOperators.GE, 0f);
            FloatVector d = FloatVector.fromArray(FLOATS, delta, j);
            VectorMask<Float> keep = d.compare(VectorOperators.GT, 0f)
                    .and(positive)
                    .or(d.compare(VectorOperators.LT, 0f).andNot(positive));
            FloatVector.fromArray(FLOATS, mixed, j).add(zero.blend(d, keep)).intoArray(mixed, j);
            FloatVector.fromArray(FLOATS, divisors, j)
                    .add(zero.blend(weights, keep))
                    .intoArray(divisors, j);
        }
        SCALAR.electedAdd(p, mixed, divisors, delta, signSum, weight, bound, mixed.length);
    }

    @Override
    public void finishTaskArithmetic(
            Precision p,
            float[] mixed,
            float[] base,
            boolean normalize,
            float[] divisors,
            float divisor,
            float lambda) {
        if (p == Precision.F16) {
            SCALAR.finishTaskArithmetic(p, mixed, base, normalize, divisors, divisor, lambda);
            return;
        }
        boolean bf16 = p == Precision.BF16;
        FloatVector constantDivisor = FloatVector.broadcast(FLOATS, divisor);
        int bound = bound(mixed.length);
        for (int j = 0; j < bound; j += LANES) {
            FloatVector value = round(bf16, FloatVector.fromArray(FLOATS, mixed, j));
            if (normalize) {
                FloatVector d = divisors == null ? constantDivisor : FloatVector.fromArray(FLOATS, divisors, j);
                value = round(bf16, value.div(d));
            }
            if (lambda != 1) {
                value = round(bf16, value.mul(lambda));
            }
            round(bf16, FloatVector.fromArray(FLOATS, base, j).add(value)).intoArray(mixed, j);
        }
        SCALAR.finishTaskArithmetic(p, mixed, base, normalize, divisors, divisor, lambda, bound, mixed.length);
    }

    @Override
    public void divisors(Precision p, float[] d) {
        if (p == Precision.F16) {
            SCALAR.divisors(p, d);
            return;
        }
        boolean bf16 = p == Precision.BF16;
        FloatVector one = FloatVector.broadcast(FLOATS, 1f);
        int bound = bound(d.length);
        for (int j = 0; j < bound; j += LANES) {
            FloatVector rounded = round(bf16, FloatVector.fromArray(FLOATS, d, j));
            rounded.blend(one, rounded.compare(VectorOperators.EQ, 0f)).intoArray(d, j);
        }
        SCALAR.divisors(p, d, bound, d.length);
    }

    @Override
    public void keepOnly(float[] a, boolean[] keep) {
        FloatVector zero = FloatVector.zero(FLOATS);
        int bound = bound(a.length);
        for (int j = 0; j < bound; j += LANES) {
            zero.blend(FloatVector.fromArray(FLOATS, a, j), VectorMask.fromArray(FLOATS, keep, j))
                    .intoArray(a, j);
        }
        SCALAR.keepOnly(a, keep, bound, a.length);
    }
}
