package dev.safemerge.merge.kernel;

import dev.safemerge.tensor.kernel.KernelSpecies;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link ScalarMergeKernels} on the Vector API. Rounding to bf16 is the scalar bit trick lane by lane (round to
 * nearest even on the upper 16 bits, NaN quieted as {@code FloatCodec} does); float32 needs no rounding; float16
 * working precision is rare enough to stay on the scalar twin. The tail shorter than a vector goes through the
 * scalar twin, which computes the same per-element expressions.
 */
final class VectorMergeKernels implements MergeKernels {
    // Species must be static finals: the JIT only turns vector operations into instructions for constant species.
    private static final VectorSpecies<Float> FLOATS = KernelSpecies.FLOATS;
    private static final VectorSpecies<Integer> INTS = KernelSpecies.INTS;
    private static final int LANES = FLOATS.length();
    /** Half a vector of floats widens to a full vector of doubles for the l1 norm. */
    private static final VectorSpecies<Float> HALF_FLOATS =
            VectorSpecies.of(float.class, VectorShape.forBitSize(FLOATS.vectorBitSize() / 2));

    private static final VectorSpecies<Double> DOUBLES = KernelSpecies.DOUBLES;
    private static final ScalarMergeKernels SCALAR = ScalarMergeKernels.INSTANCE;

    private VectorMergeKernels() {}

    /** Only when {@link dev.safemerge.tensor.kernel.KernelProvider} found the Vector API usable. */
    static VectorMergeKernels create() {
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
    public void round(Precision p, float[] a, int count) {
        if (p != Precision.BF16) {
            SCALAR.round(p, a, count);
            return;
        }
        int bound = bound(count);
        for (int j = 0; j < bound; j += LANES) {
            roundBf16(FloatVector.fromArray(FLOATS, a, j)).intoArray(a, j);
        }
        SCALAR.round(p, a, bound, count);
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
    public void subtract(Precision p, float[] x, float[] base, float[] out, int count) {
        if (p == Precision.F16) {
            SCALAR.subtract(p, x, base, out, count);
            return;
        }
        boolean bf16 = p == Precision.BF16;
        int bound = bound(count);
        for (int j = 0; j < bound; j += LANES) {
            FloatVector difference = FloatVector.fromArray(FLOATS, x, j).sub(FloatVector.fromArray(FLOATS, base, j));
            round(bf16, difference).intoArray(out, j);
        }
        SCALAR.subtract(p, x, base, out, bound, count);
    }

    @Override
    public void weightAndSum(
            Precision p,
            float[] a,
            int count,
            Precision work,
            boolean rescaled,
            float factor,
            float weight,
            float[] sum) {
        if (p == Precision.F16 || work != p) {
            SCALAR.weightAndSum(p, a, count, work, rescaled, factor, weight, sum);
            return;
        }
        boolean bf16 = p == Precision.BF16;
        int bound = bound(count);
        for (int j = 0; j < bound; j += LANES) {
            FloatVector v = FloatVector.fromArray(FLOATS, a, j);
            if (rescaled) {
                v = round(bf16, v.mul(factor));
            }
            v = round(bf16, v.mul(weight));
            v.intoArray(a, j);
            FloatVector.fromArray(FLOATS, sum, j).add(v).intoArray(sum, j);
        }
        SCALAR.weightAndSum(p, a, work, rescaled, factor, weight, sum, bound, count);
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
    public void electedAdd(
            Precision p, float[] mixed, float[] divisors, float[] delta, float[] signSum, float weight, int count) {
        if (p == Precision.F16) {
            SCALAR.electedAdd(p, mixed, divisors, delta, signSum, weight, count);
            return;
        }
        boolean bf16 = p == Precision.BF16;
        FloatVector zero = FloatVector.zero(FLOATS);
        FloatVector weights = FloatVector.broadcast(FLOATS, weight);
        int bound = bound(count);
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
        SCALAR.electedAdd(p, mixed, divisors, delta, signSum, weight, bound, count);
    }

    @Override
    public void finishTaskArithmetic(
            Precision p,
            float[] mixed,
            float[] base,
            float[] out,
            boolean normalize,
            float[] divisors,
            float divisor,
            float lambda,
            int count) {
        if (p == Precision.F16) {
            SCALAR.finishTaskArithmetic(p, mixed, base, out, normalize, divisors, divisor, lambda, count);
            return;
        }
        boolean bf16 = p == Precision.BF16;
        FloatVector constantDivisor = FloatVector.broadcast(FLOATS, divisor);
        int bound = bound(count);
        for (int j = 0; j < bound; j += LANES) {
            FloatVector value = round(bf16, FloatVector.fromArray(FLOATS, mixed, j));
            if (normalize) {
                FloatVector d = divisors == null ? constantDivisor : FloatVector.fromArray(FLOATS, divisors, j);
                value = round(bf16, value.div(d));
            }
            if (lambda != 1) {
                value = round(bf16, value.mul(lambda));
            }
            round(bf16, FloatVector.fromArray(FLOATS, base, j).add(value)).intoArray(out, j);
        }
        SCALAR.finishTaskArithmetic(p, mixed, base, out, normalize, divisors, divisor, lambda, bound, count);
    }

    @Override
    public void divisors(Precision p, float[] d, int count) {
        if (p == Precision.F16) {
            SCALAR.divisors(p, d, count);
            return;
        }
        boolean bf16 = p == Precision.BF16;
        FloatVector one = FloatVector.broadcast(FLOATS, 1f);
        int bound = bound(count);
        for (int j = 0; j < bound; j += LANES) {
            FloatVector rounded = round(bf16, FloatVector.fromArray(FLOATS, d, j));
            rounded.blend(one, rounded.compare(VectorOperators.EQ, 0f)).intoArray(d, j);
        }
        SCALAR.divisors(p, d, bound, count);
    }

    @Override
    public void keepBelow(float[] a, float[] uniforms, float probability, int count) {
        FloatVector zero = FloatVector.zero(FLOATS);
        int bound = bound(count);
        for (int j = 0; j < bound; j += LANES) {
            VectorMask<Float> keep =
                    FloatVector.fromArray(FLOATS, uniforms, j).compare(VectorOperators.LT, probability);
            zero.blend(FloatVector.fromArray(FLOATS, a, j), keep).intoArray(a, j);
        }
        SCALAR.keepBelow(a, uniforms, probability, bound, count);
    }

    /** The low LANES bits: one vector's worth of mask bits. */
    private static final long LANE_BITS = -1L >>> (64 - LANES);

    @Override
    public void maskBelow(float[] uniforms, float probability, int count, long[] bits, int first) {
        int bound = bound(count);
        for (int j = 0; j < bound; j += LANES) {
            long lanes = FloatVector.fromArray(FLOATS, uniforms, j)
                    .compare(VectorOperators.LT, probability)
                    .toLong();
            // first is a multiple of 64 and j of LANES, so one vector's bits never straddle two words.
            int i = first + j;
            int shift = i & 63;
            bits[i >>> 6] = (bits[i >>> 6] & ~(LANE_BITS << shift)) | (lanes << shift);
        }
        SCALAR.maskBelow(uniforms, probability, bits, first, bound, count);
    }

    @Override
    public void keepBits(float[] a, int count, long[] bits, int first) {
        FloatVector zero = FloatVector.zero(FLOATS);
        int bound = bound(count);
        for (int j = 0; j < bound; j += LANES) {
            int i = first + j;
            VectorMask<Float> keep = VectorMask.fromLong(FLOATS, bits[i >>> 6] >>> (i & 63));
            zero.blend(FloatVector.fromArray(FLOATS, a, j), keep).intoArray(a, j);
        }
        SCALAR.keepBits(a, bits, first, bound, count);
    }

    @Override
    public void keepRankWindow(
            float[] a, int count, int start, int lowBits, int lowIndex, int highBits, int highIndex) {
        IntVector zero = IntVector.zero(INTS);
        IntVector lanes = zero.addIndex(1);
        int bound = bound(count);
        for (int j = 0; j < bound; j += LANES) {
            IntVector raw = FloatVector.fromArray(FLOATS, a, j).reinterpretAsInts();
            IntVector b = raw.and(0x7fffffff);
            IntVector i = lanes.add(start + j);
            VectorMask<Integer> aboveLow = b.compare(VectorOperators.GT, lowBits)
                    .or(b.compare(VectorOperators.EQ, lowBits).and(i.compare(VectorOperators.GE, lowIndex)));
            VectorMask<Integer> belowHigh = b.compare(VectorOperators.LT, highBits)
                    .or(b.compare(VectorOperators.EQ, highBits).and(i.compare(VectorOperators.LE, highIndex)));
            zero.blend(raw, aboveLow.and(belowHigh)).reinterpretAsFloats().intoArray(a, j);
        }
        SCALAR.keepRankWindow(a, start, lowBits, lowIndex, highBits, highIndex, bound, count);
    }

    @Override
    public int countMagnitude(float[] a, int count, int bits) {
        int matches = 0;
        int bound = bound(count);
        for (int j = 0; j < bound; j += LANES) {
            matches += FloatVector.fromArray(FLOATS, a, j)
                    .reinterpretAsInts()
                    .and(0x7fffffff)
                    .compare(VectorOperators.EQ, bits)
                    .trueCount();
        }
        return matches + SCALAR.countMagnitude(a, bits, bound, count);
    }

    @Override
    public int countAbove(float[] a, int count, int bits) {
        int above = 0;
        int bound = bound(count);
        for (int j = 0; j < bound; j += LANES) {
            above += FloatVector.fromArray(FLOATS, a, j)
                    .reinterpretAsInts()
                    .and(0x7fffffff)
                    .compare(VectorOperators.GT, bits)
                    .trueCount();
        }
        return above + SCALAR.countAbove(a, bits, bound, count);
    }

    @Override
    public int selectMagnitudes(float[] a, int count, int lowBits, int highBits, int[] selected) {
        int written = 0;
        int bound = bound(count);
        for (int j = 0; j < bound; j += LANES) {
            IntVector b =
                    FloatVector.fromArray(FLOATS, a, j).reinterpretAsInts().and(0x7fffffff);
            VectorMask<Integer> inside =
                    b.compare(VectorOperators.GE, lowBits).and(b.compare(VectorOperators.LE, highBits));
            if (inside.anyTrue()) {
                // The selected lanes moved to the front; the lanes after them are overwritten by the next store.
                b.compress(inside).intoArray(selected, written);
                written += inside.trueCount();
            }
        }
        return SCALAR.selectMagnitudes(a, lowBits, highBits, selected, written, bound, count);
    }

    @Override
    public void addMagnitudes(float[] a, int count, double[] stripes) {
        if (LANES != NORM_STRIPES) {
            // One float vector per row of stripes keeps the loop simple; other widths take the scalar loop.
            SCALAR.addMagnitudes(a, count, stripes);
            return;
        }
        int half = LANES / 2;
        DoubleVector low = DoubleVector.fromArray(DOUBLES, stripes, 0);
        DoubleVector high = DoubleVector.fromArray(DOUBLES, stripes, half);
        int bound = bound(count);
        for (int j = 0; j < bound; j += LANES) {
            low = low.add(widen(FloatVector.fromArray(HALF_FLOATS, a, j)));
            high = high.add(widen(FloatVector.fromArray(HALF_FLOATS, a, j + half)));
        }
        low.intoArray(stripes, 0);
        high.intoArray(stripes, half);
        SCALAR.addMagnitudes(a, stripes, bound, count);
    }

    private static DoubleVector widen(FloatVector v) {
        return (DoubleVector) v.abs().convertShape(VectorOperators.F2D, DOUBLES, 0);
    }

    @Override
    public void uniforms(long key, int first, float[] dst, int count) {
        int inner = (int) key;
        int outer = (int) (key >>> 32);
        IntVector lanes = IntVector.zero(INTS).addIndex(1);
        int bound = bound(count);
        for (int j = 0; j < bound; j += LANES) {
            IntVector bits = hash(hash(lanes.add(first + j + inner)).lanewise(VectorOperators.XOR, outer))
                    .lanewise(VectorOperators.LSHR, 8);
            ((FloatVector) bits.convert(VectorOperators.I2F, 0)).mul(0x1.0p-24f).intoArray(dst, j);
        }
        SCALAR.uniforms(key, first, dst, bound, count);
    }

    /** {@link ScalarMergeKernels#hash} lane by lane. */
    private static IntVector hash(IntVector x) {
        x = x.lanewise(VectorOperators.XOR, x.lanewise(VectorOperators.LSHR, 16));
        x = x.mul(0x7feb352d);
        x = x.lanewise(VectorOperators.XOR, x.lanewise(VectorOperators.LSHR, 15));
        x = x.mul(0x846ca68b);
        return x.lanewise(VectorOperators.XOR, x.lanewise(VectorOperators.LSHR, 16));
    }
}
