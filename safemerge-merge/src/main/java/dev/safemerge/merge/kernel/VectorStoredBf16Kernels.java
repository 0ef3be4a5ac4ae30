package dev.safemerge.merge.kernel;

import dev.safemerge.tensor.kernel.KernelSpecies;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link ScalarStoredBf16Kernels} on the Vector API. Bf16 lanes are widened to float by a shift and results narrowed
 * back by taking their upper halves. Rounding to bf16 is written out where it happens rather than called: the JIT
 * refuses to inline a helper that many times, and vectors passed to a call are boxed. It is the plain
 * round-to-nearest-even bit trick without the NaN case of {@link Precision#round}, which is exact here: every value
 * rounded is the result of float arithmetic on bf16 numbers, so a NaN among them is already quiet with a zero lower
 * half, which the trick leaves as it is. The tail shorter than a vector goes through the scalar twin.
 */
final class VectorStoredBf16Kernels implements StoredBf16Kernels {
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    // Species must be static finals: the JIT only turns vector operations into instructions for constant species.
    private static final VectorSpecies<Float> FLOATS = KernelSpecies.FLOATS;
    private static final VectorSpecies<Integer> INTS = KernelSpecies.INTS;
    private static final VectorSpecies<Short> SHORTS =
            VectorSpecies.of(short.class, VectorShape.forBitSize(FLOATS.length() * Short.SIZE));
    private static final int LANES = FLOATS.length();

    private VectorStoredBf16Kernels() {}

    /** Only when {@link dev.safemerge.tensor.kernel.KernelProvider} found the Vector API usable. */
    static VectorStoredBf16Kernels create() {
        return new VectorStoredBf16Kernels();
    }

    @Override
    public String name() {
        return "vector" + FLOATS.vectorBitSize();
    }

    @Override
    public void linear(
            MemorySegment[] inputs, float[] weights, boolean normalize, float divisor, MemorySegment out, long count) {
        long bound = count - count % LANES;
        for (long j = 0; j < bound; j += LANES) {
            FloatVector sum = FloatVector.zero(FLOATS);
            for (int i = 0; i < inputs.length; i++) {
                IntVector product = widen(inputs[i], j).mul(weights[i]).reinterpretAsInts();
                sum = sum.add(product.add(product.lanewise(VectorOperators.LSHR, 16)
                                .and(1)
                                .add(0x7fff))
                        .and(0xffff0000)
                        .reinterpretAsFloats());
            }
            IntVector total = sum.reinterpretAsInts();
            total = total.add(total.lanewise(VectorOperators.LSHR, 16).and(1).add(0x7fff))
                    .and(0xffff0000);
            if (normalize) {
                total = total.reinterpretAsFloats().div(divisor).reinterpretAsInts();
                total = total.add(
                                total.lanewise(VectorOperators.LSHR, 16).and(1).add(0x7fff))
                        .and(0xffff0000);
            }
            // Narrowing a bf16 number is taking its upper half.
            ((ShortVector) total.lanewise(VectorOperators.LSHR, 16).convertShape(VectorOperators.I2S, SHORTS, 0))
                    .intoMemorySegment(out, j * 2, LE);
        }
        ScalarStoredBf16Kernels.INSTANCE.linear(inputs, weights, normalize, divisor, out, bound, count);
    }

    @Override
    public void taskArithmetic(
            MemorySegment base,
            MemorySegment[] others,
            float[] weights,
            boolean normalize,
            float divisor,
            float lambda,
            MemorySegment out,
            long count) {
        // Without other models the result is the base with its NaNs quieted, a case not worth a vector loop.
        long bound = others.length == 0 ? 0 : count - count % LANES;
        for (long j = 0; j < bound; j += LANES) {
            FloatVector b = widen(base, j);
            FloatVector sum = FloatVector.zero(FLOATS);
            for (int i = 0; i < others.length; i++) {
                IntVector delta = widen(others[i], j).sub(b).reinterpretAsInts();
                delta = delta.add(
                                delta.lanewise(VectorOperators.LSHR, 16).and(1).add(0x7fff))
                        .and(0xffff0000);
                IntVector weighted = delta.reinterpretAsFloats().mul(weights[i]).reinterpretAsInts();
                sum = sum.add(weighted.add(weighted.lanewise(VectorOperators.LSHR, 16)
                                .and(1)
                                .add(0x7fff))
                        .and(0xffff0000)
                        .reinterpretAsFloats());
            }
            IntVector value = sum.reinterpretAsInts();
            value = value.add(value.lanewise(VectorOperators.LSHR, 16).and(1).add(0x7fff))
                    .and(0xffff0000);
            if (normalize) {
                value = value.reinterpretAsFloats().div(divisor).reinterpretAsInts();
                value = value.add(
                                value.lanewise(VectorOperators.LSHR, 16).and(1).add(0x7fff))
                        .and(0xffff0000);
            }
            if (lambda != 1) {
                value = value.reinterpretAsFloats().mul(lambda).reinterpretAsInts();
                value = value.add(
                                value.lanewise(VectorOperators.LSHR, 16).and(1).add(0x7fff))
                        .and(0xffff0000);
            }
            IntVector result = b.add(value.reinterpretAsFloats()).reinterpretAsInts();
            result = result.add(result.lanewise(VectorOperators.LSHR, 16).and(1).add(0x7fff))
                    .and(0xffff0000);
            ((ShortVector) result.lanewise(VectorOperators.LSHR, 16).convertShape(VectorOperators.I2S, SHORTS, 0))
                    .intoMemorySegment(out, j * 2, LE);
        }
        ScalarStoredBf16Kernels.INSTANCE.taskArithmetic(
                base, others, weights, normalize, divisor, lambda, out, bound, count);
    }

    @Override
    public void taskVector(MemorySegment x, MemorySegment base, long first, float[] out, int count) {
        int bound = count - count % LANES;
        for (int j = 0; j < bound; j += LANES) {
            IntVector delta = widen(x, first + j).sub(widen(base, first + j)).reinterpretAsInts();
            delta = delta.add(delta.lanewise(VectorOperators.LSHR, 16).and(1).add(0x7fff))
                    .and(0xffff0000);
            delta.reinterpretAsFloats().intoArray(out, j);
        }
        ScalarStoredBf16Kernels.INSTANCE.taskVector(x, base, first, out, bound, count);
    }

    @Override
    public void finishOneModel(
            float[] delta, MemorySegment base, long first, OneModelSteps steps, MemorySegment out, int count) {
        boolean rescaled = steps.rescaled();
        float factor = steps.factor();
        boolean electSign = steps.electSign();
        boolean normalize = steps.normalize();
        float lambda = steps.lambda();
        FloatVector zero = FloatVector.zero(FLOATS);
        FloatVector one = FloatVector.broadcast(FLOATS, 1f);
        FloatVector weights = FloatVector.broadcast(FLOATS, steps.weight());
        FloatVector divisors = FloatVector.broadcast(FLOATS, steps.divisor());
        int bound = count - count % LANES;
        for (int j = 0; j < bound; j += LANES) {
            IntVector v = FloatVector.fromArray(FLOATS, delta, j).reinterpretAsInts();
            if (rescaled) {
                v = v.reinterpretAsFloats().mul(factor).reinterpretAsInts();
                v = v.add(v.lanewise(VectorOperators.LSHR, 16).and(1).add(0x7fff))
                        .and(0xffff0000);
            }
            v = v.reinterpretAsFloats().mul(weights).reinterpretAsInts();
            v = v.add(v.lanewise(VectorOperators.LSHR, 16).and(1).add(0x7fff)).and(0xffff0000);
            FloatVector kept = v.reinterpretAsFloats();
            FloatVector d = divisors;
            if (electSign) {
                // Neither comparison holds for zeros and NaNs, which the vote of a single model drops.
                VectorMask<Float> keep = kept.compare(VectorOperators.GT, 0f).or(kept.compare(VectorOperators.LT, 0f));
                kept = zero.blend(kept, keep);
                d = one.blend(weights, keep);
            }
            // 0 + v as the float path sums from zero: a -0 becomes +0.
            IntVector value = zero.add(kept).reinterpretAsInts();
            if (normalize) {
                value = value.reinterpretAsFloats().div(d).reinterpretAsInts();
                value = value.add(
                                value.lanewise(VectorOperators.LSHR, 16).and(1).add(0x7fff))
                        .and(0xffff0000);
            }
            if (lambda != 1) {
                value = value.reinterpretAsFloats().mul(lambda).reinterpretAsInts();
                value = value.add(
                                value.lanewise(VectorOperators.LSHR, 16).and(1).add(0x7fff))
                        .and(0xffff0000);
            }
            IntVector result =
                    widen(base, first + j).add(value.reinterpretAsFloats()).reinterpretAsInts();
            result = result.add(result.lanewise(VectorOperators.LSHR, 16).and(1).add(0x7fff))
                    .and(0xffff0000);
            ((ShortVector) result.lanewise(VectorOperators.LSHR, 16).convertShape(VectorOperators.I2S, SHORTS, 0))
                    .intoMemorySegment(out, j * 2L, LE);
        }
        ScalarStoredBf16Kernels.INSTANCE.finishOneModel(delta, base, first, steps, out, bound, count);
    }

    /** Bf16 lanes as floats; sign extension puts garbage only in bits that the shift discards. */
    private static FloatVector widen(MemorySegment src, long index) {
        return ((IntVector) ShortVector.fromMemorySegment(SHORTS, src, index * 2, LE)
                        .convertShape(VectorOperators.S2I, INTS, 0))
                .lanewise(VectorOperators.LSHL, 16)
                .reinterpretAsFloats();
    }
}
