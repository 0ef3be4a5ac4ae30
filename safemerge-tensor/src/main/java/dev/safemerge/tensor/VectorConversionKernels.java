package dev.safemerge.tensor;

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
 * The conversions of {@link ScalarConversionKernels} on the Vector API, lane-parallel integer arithmetic on the bit
 * patterns. Every branch of the scalar code (NaN, infinity, overflow, subnormals, ties) becomes a mask. The tail
 * shorter than a vector goes through the scalar twin.
 */
final class VectorConversionKernels implements ConversionKernels {
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    // Species must be static finals: the JIT only turns vector operations into instructions for constant species.
    private static final VectorSpecies<Float> FLOATS = KernelSpecies.FLOATS;
    private static final VectorSpecies<Integer> INTS = KernelSpecies.INTS;
    private static final VectorSpecies<Short> SHORTS =
            VectorSpecies.of(short.class, VectorShape.forBitSize(FLOATS.length() * Short.SIZE));
    private static final int LANES = FLOATS.length();
    /** 0.5f: its exponent puts the half-subnormal unit (2^-24) at the float's last mantissa bit. */
    private static final float SUBNORMAL_MAGIC = Float.intBitsToFloat(((127 - 15) + (23 - 10) + 1) << 23);

    private VectorConversionKernels() {}

    /** Only when {@link dev.safemerge.tensor.kernel.KernelProvider} found the Vector API usable. */
    static VectorConversionKernels create() {
        return new VectorConversionKernels();
    }

    @Override
    public String name() {
        return "vector" + FLOATS.vectorBitSize();
    }

    private IntVector loadShortsAsInts(MemorySegment src, long index) {
        ShortVector halves = ShortVector.fromMemorySegment(SHORTS, src, index * 2, LE);
        return (IntVector) halves.convertShape(VectorOperators.S2I, INTS, 0);
    }

    private void storeIntsAsShorts(IntVector values, MemorySegment dst, long index) {
        ShortVector halves = (ShortVector) values.convertShape(VectorOperators.I2S, SHORTS, 0);
        halves.intoMemorySegment(dst, index * 2, LE);
    }

    @Override
    public void decodeBf16(MemorySegment src, float[] dst, int dstOffset, int count) {
        int bound = count - count % LANES;
        for (int i = 0; i < bound; i += LANES) {
            // Sign extension puts garbage only in bits that the shift discards.
            IntVector bits = loadShortsAsInts(src, i).lanewise(VectorOperators.LSHL, 16);
            bits.reinterpretAsFloats().intoArray(dst, dstOffset + i);
        }
        ScalarConversionKernels.INSTANCE.decodeBf16(src.asSlice(bound * 2L), dst, dstOffset + bound, count - bound);
    }

    @Override
    public void encodeBf16(float[] src, int srcOffset, MemorySegment dst, int count) {
        int bound = count - count % LANES;
        for (int i = 0; i < bound; i += LANES) {
            IntVector bits = FloatVector.fromArray(FLOATS, src, srcOffset + i).reinterpretAsInts();
            IntVector upper = bits.lanewise(VectorOperators.LSHR, 16);
            IntVector rounded = bits.add(upper.and(1).add(0x7fff)).lanewise(VectorOperators.LSHR, 16);
            VectorMask<Integer> nan = bits.and(0x7fffffff).compare(VectorOperators.GT, 0x7f800000);
            IntVector result = rounded.blend(upper.or(0x0040), nan);
            storeIntsAsShorts(result, dst, i);
        }
        ScalarConversionKernels.INSTANCE.encodeBf16(src, srcOffset + bound, dst.asSlice(bound * 2L), count - bound);
    }

    @Override
    public void decodeF16(MemorySegment src, float[] dst, int dstOffset, int count) {
        int bound = count - count % LANES;
        for (int i = 0; i < bound; i += LANES) {
            IntVector h = loadShortsAsInts(src, i).and(0xffff);
            IntVector sign = h.and(0x8000).lanewise(VectorOperators.LSHL, 16);
            IntVector exponent = h.and(0x7c00);
            IntVector mantissa = h.and(0x03ff);
            // Normal: rebias the exponent from 15 to 127 and widen the mantissa from 10 to 23 bits.
            IntVector normal = h.and(0x7fff).lanewise(VectorOperators.LSHL, 13).add(112 << 23);
            IntVector infOrNan = mantissa.lanewise(VectorOperators.LSHL, 13)
                    .or(0x7f800000)
                    .or(IntVector.broadcast(INTS, 0x00400000).blend(0, mantissa.compare(VectorOperators.EQ, 0)));
            // Subnormal (and zero): 2^-14·(1 + m/1024) − 2^-14 = m·2^-24, exact in float, without an int→float convert.
            IntVector subnormal =
                    normal.add(1 << 23).reinterpretAsFloats().sub(0x1p-14f).reinterpretAsInts();
            IntVector magnitude = normal.blend(infOrNan, exponent.compare(VectorOperators.EQ, 0x7c00))
                    .blend(subnormal, exponent.compare(VectorOperators.EQ, 0));
            magnitude.or(sign).reinterpretAsFloats().intoArray(dst, dstOffset + i);
        }
        ScalarConversionKernels.INSTANCE.decodeF16(src.asSlice(bound * 2L), dst, dstOffset + bound, count - bound);
    }

    @Override
    public void encodeF16(float[] src, int srcOffset, MemorySegment dst, int count) {
        int bound = count - count % LANES;
        for (int i = 0; i < bound; i += LANES) {
            IntVector bits = FloatVector.fromArray(FLOATS, src, srcOffset + i).reinterpretAsInts();
            IntVector abs = bits.and(0x7fffffff);
            IntVector sign = bits.lanewise(VectorOperators.LSHR, 16).and(0x8000);
            // Normal halves: rebias the exponent and round the 13 dropped bits to nearest even in integer
            // arithmetic; a carry out of the mantissa bumps the exponent, up to infinity at 65520.
            IntVector odd = abs.lanewise(VectorOperators.LSHR, 13).and(1);
            IntVector normal = abs.add((15 - 127) << 23).add(0xfff).add(odd).lanewise(VectorOperators.LSHR, 13);
            // Subnormal halves (|x| < 2^-14): adding 0.5 shifts the bits into place and the FPU rounds to even.
            IntVector subnormal = abs.reinterpretAsFloats()
                    .add(SUBNORMAL_MAGIC)
                    .reinterpretAsInts()
                    .sub(Float.floatToRawIntBits(SUBNORMAL_MAGIC));
            IntVector nan =
                    bits.and(0x007fe000).lanewise(VectorOperators.LSHR, 13).or(0x7e00);
            IntVector result = normal.blend(subnormal, abs.compare(VectorOperators.LT, 113 << 23))
                    .blend(0x7c00, abs.compare(VectorOperators.GE, 143 << 23))
                    .blend(nan, abs.compare(VectorOperators.GT, 0x7f800000))
                    .or(sign);
            storeIntsAsShorts(result, dst, i);
        }
        ScalarConversionKernels.INSTANCE.encodeF16(src, srcOffset + bound, dst.asSlice(bound * 2L), count - bound);
    }
}
