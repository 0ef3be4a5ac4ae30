package dev.safemerge.merge;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link ScalarStoredBf16Kernels} on the Vector API: bf16 lanes are widened to float by a shift, and a result already
 * rounded to bf16 is narrowed back by taking its upper half (exact, and the quieted NaN of the rounding is the NaN
 * the encoder writes). Everything stays inside one loop body so that the JIT keeps the vectors in registers. The
 * tail shorter than a vector goes through the scalar twin.
 */
final class VectorStoredBf16Kernels implements StoredBf16Kernels {
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    // Species must be static finals: the JIT only turns vector operations into instructions for constant species.
    private static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> INTS = VectorSpecies.of(int.class, FLOATS.vectorShape());
    private static final VectorSpecies<Short> SHORTS =
            VectorSpecies.of(short.class, VectorShape.forBitSize(FLOATS.length() * Short.SIZE));
    private static final int LANES = FLOATS.length();

    private VectorStoredBf16Kernels() {}

    static VectorStoredBf16Kernels create() {
        if (LANES < 4) {
            throw new UnsupportedOperationException("vectors of " + LANES + " floats are too short");
        }
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
                // Widening: sign extension puts garbage only in bits that the shift discards.
                FloatVector x = ((IntVector) ShortVector.fromMemorySegment(SHORTS, inputs[i], j * 2, LE)
                                .convertShape(VectorOperators.S2I, INTS, 0))
                        .lanewise(VectorOperators.LSHL, 16)
                        .reinterpretAsFloats();
                sum = sum.add(VectorMergeKernels.roundBf16(x.mul(weights[i])));
            }
            FloatVector total = VectorMergeKernels.roundBf16(sum);
            if (normalize) {
                total = VectorMergeKernels.roundBf16(total.div(divisor));
            }
            // Narrowing a value already rounded to bf16 is taking its upper half.
            IntVector upper = total.reinterpretAsInts().lanewise(VectorOperators.LSHR, 16);
            ((ShortVector) upper.convertShape(VectorOperators.I2S, SHORTS, 0)).intoMemorySegment(out, j * 2, LE);
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
        long bound = count - count % LANES;
        for (long j = 0; j < bound; j += LANES) {
            FloatVector b = ((IntVector) ShortVector.fromMemorySegment(SHORTS, base, j * 2, LE)
                            .convertShape(VectorOperators.S2I, INTS, 0))
                    .lanewise(VectorOperators.LSHL, 16)
                    .reinterpretAsFloats();
            FloatVector sum = FloatVector.zero(FLOATS);
            for (int i = 0; i < others.length; i++) {
                FloatVector x = ((IntVector) ShortVector.fromMemorySegment(SHORTS, others[i], j * 2, LE)
                                .convertShape(VectorOperators.S2I, INTS, 0))
                        .lanewise(VectorOperators.LSHL, 16)
                        .reinterpretAsFloats();
                FloatVector delta = VectorMergeKernels.roundBf16(x.sub(b));
                sum = sum.add(VectorMergeKernels.roundBf16(delta.mul(weights[i])));
            }
            FloatVector value = VectorMergeKernels.roundBf16(sum);
            if (normalize) {
                value = VectorMergeKernels.roundBf16(value.div(divisor));
            }
            if (lambda != 1) {
                value = VectorMergeKernels.roundBf16(value.mul(lambda));
            }
            // Without other models the float path returns the base itself (rounding only quiets NaNs), not b + 0.
            IntVector upper = VectorMergeKernels.roundBf16(others.length == 0 ? b : b.add(value))
                    .reinterpretAsInts()
                    .lanewise(VectorOperators.LSHR, 16);
            ((ShortVector) upper.convertShape(VectorOperators.I2S, SHORTS, 0)).intoMemorySegment(out, j * 2, LE);
        }
        ScalarStoredBf16Kernels.INSTANCE.taskArithmetic(
                base, others, weights, normalize, divisor, lambda, out, bound, count);
    }
}
