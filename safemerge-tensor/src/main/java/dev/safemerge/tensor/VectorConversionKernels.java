package dev.safemerge.tensor;

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

    private final VectorSpecies<Float> floats;
    private final VectorSpecies<Integer> ints;
    private final VectorSpecies<Short> shorts;
    private final int lanes;

    private VectorConversionKernels(VectorSpecies<Float> floats) {
        this.floats = floats;
        this.lanes = floats.length();
        this.ints = VectorSpecies.of(int.class, floats.vectorShape());
        this.shorts = VectorSpecies.of(short.class, VectorShape.forBitSize(lanes * Short.SIZE));
    }

    static VectorConversionKernels create() {
        VectorSpecies<Float> species = FloatVector.SPECIES_PREFERRED;
        if (species.length() < 4) {
            throw new UnsupportedOperationException("vectors of " + species.length() + " floats are too short");
        }
        return new VectorConversionKernels(species);
    }

    @Override
    public String name() {
        return "vector" + floats.vectorBitSize();
    }

    private IntVector loadShortsAsInts(MemorySegment src, long index) {
        ShortVector halves = ShortVector.fromMemorySegment(shorts, src, index * 2, LE);
        return (IntVector) halves.convertShape(VectorOperators.S2I, ints, 0);
    }

    private void storeIntsAsShorts(IntVector values, MemorySegment dst, long index) {
        ShortVector halves = (ShortVector) values.convertShape(VectorOperators.I2S, shorts, 0);
        halves.intoMemorySegment(dst, index * 2, LE);
    }

    @Override
    public void decodeBf16(MemorySegment src, float[] dst, int dstOffset, int count) {
        int bound = count - count % lanes;
        for (int i = 0; i < bound; i += lanes) {
            // Sign extension puts garbage only in bits that the shift discards.
            IntVector bits = loadShortsAsInts(src, i).lanewise(VectorOperators.LSHL, 16);
            bits.reinterpretAsFloats().intoArray(dst, dstOffset + i);
        }
        ScalarConversionKernels.INSTANCE.decodeBf16(src.asSlice(bound * 2L), dst, dstOffset + bound, count - bound);
    }

    @Override
    public void encodeBf16(float[] src, int srcOffset, MemorySegment dst, int count) {
        int bound = count - count % lanes;
        for (int i = 0; i < bound; i += lanes) {
            IntVector bits = FloatVector.fromArray(floats, src, srcOffset + i).reinterpretAsInts();
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
        int bound = count - count % lanes;
        for (int i = 0; i < bound; i += lanes) {
            IntVector h = loadShortsAsInts(src, i).and(0xffff);
            IntVector sign = h.and(0x8000).lanewise(VectorOperators.LSHL, 16);
            IntVector exponent = h.and(0x7c00);
            IntVector mantissa = h.and(0x03ff);
            // Normal: rebias the exponent from 15 to 127 and widen the mantissa from 10 to 23 bits.
            IntVector normal = h.and(0x7fff).lanewise(VectorOperators.LSHL, 13).add(112 << 23);
            IntVector infOrNan = mantissa.lanewise(VectorOperators.LSHL, 13)
                    .or(0x7f800000)
                    .or(IntVector.broadcast(ints, 0x00400000).blend(0, mantissa.compare(VectorOperators.EQ, 0)));
            // Subnormal (and zero): mantissa · 2^-24 is exact in float.
            IntVector subnormal = ((FloatVector) mantissa.convert(VectorOperators.I2F, 0))
                    .mul(0x1p-24f)
                    .reinterpretAsInts();
            IntVector magnitude = normal.blend(infOrNan, exponent.compare(VectorOperators.EQ, 0x7c00))
                    .blend(subnormal, exponent.compare(VectorOperators.EQ, 0));
            magnitude.or(sign).reinterpretAsFloats().intoArray(dst, dstOffset + i);
        }
        ScalarConversionKernels.INSTANCE.decodeF16(src.asSlice(bound * 2L), dst, dstOffset + bound, count - bound);
    }

    @Override
    public void encodeF16(float[] src, int srcOffset, MemorySegment dst, int count) {
        int bound = count - count % lanes;
        for (int i = 0; i < bound; i += lanes) {
            IntVector bits = FloatVector.fromArray(floats, src, srcOffset + i).reinterpretAsInts();
            IntVector sign = bits.lanewise(VectorOperators.LSHR, 16).and(0x8000);
            IntVector abs = bits.and(0x7fffffff);
            // NaN: quiet, with its sign and the top payload bits (FloatCodec.floatToF16).
            IntVector nan = sign.or(0x7e00).or(bits.and(0x007fe000).lanewise(VectorOperators.LSHR, 13));
            // Exponent below -14 means a half subnormal: shift the mantissa (with its implicit 1) further right.
            IntVector exponent = abs.lanewise(VectorOperators.LSHR, 23).sub(127);
            VectorMask<Integer> tiny = exponent.compare(VectorOperators.LT, -14);
            IntVector shiftExtra = IntVector.broadcast(ints, -14).sub(exponent).blend(0, tiny.not());
            IntVector halfExponent = exponent.blend(-15, tiny);
            IntVector significand =
                    abs.and(0x007fffff).or(IntVector.broadcast(ints, 0x00800000).blend(0, tiny.not()));
            IntVector shift = shiftExtra.add(13);
            IntVector truncated = significand.lanewise(VectorOperators.ASHR, shift);
            IntVector one = IntVector.broadcast(ints, 1);
            IntVector lsb = significand.and(one.lanewise(VectorOperators.LSHL, shift));
            IntVector roundBit = one.lanewise(VectorOperators.LSHL, shift.sub(1));
            IntVector round = significand.and(roundBit);
            IntVector sticky = significand.and(roundBit.sub(1));
            VectorMask<Integer> roundUp =
                    round.compare(VectorOperators.NE, 0).and(lsb.or(sticky).compare(VectorOperators.NE, 0));
            IntVector normal = halfExponent
                    .add(15)
                    .lanewise(VectorOperators.LSHL, 10)
                    .add(truncated.add(one.blend(0, roundUp.not())))
                    .or(sign);
            IntVector result = normal.blend(sign, abs.compare(VectorOperators.LE, Float.floatToRawIntBits(0x1p-25f)))
                    .blend(sign.or(0x7c00), abs.compare(VectorOperators.GE, Float.floatToRawIntBits(65520f)))
                    .blend(nan, abs.compare(VectorOperators.GT, 0x7f800000));
            storeIntsAsShorts(result, dst, i);
        }
        ScalarConversionKernels.INSTANCE.encodeF16(src, srcOffset + bound, dst.asSlice(bound * 2L), count - bound);
    }
}
