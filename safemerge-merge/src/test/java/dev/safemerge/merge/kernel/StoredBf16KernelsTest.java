package dev.safemerge.merge.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.safemerge.merge.MaskSource;
import dev.safemerge.merge.MergeInput;
import dev.safemerge.merge.MergeMethod;
import dev.safemerge.merge.MethodRegistry;
import dev.safemerge.merge.Params;
import dev.safemerge.merge.StoredBf16Merge;
import dev.safemerge.merge.TensorGroup;
import dev.safemerge.merge.method.Linear;
import dev.safemerge.merge.method.TaskArithmeticFamily;
import dev.safemerge.merge.method.TaskArithmeticMethods;
import dev.safemerge.tensor.DType;
import dev.safemerge.tensor.FloatCodec;
import dev.safemerge.tensor.FloatConversion;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The fused BF16 kernels: vectorized against the scalar twin bit for bit, and the fused path of a method against its
 * float path followed by the BF16 encoding, on seeded bf16 data with every special value.
 */
public class StoredBf16KernelsTest {
    private static final StoredBf16Kernels VECTOR = VectorStoredBf16Kernels.create();
    private static final StoredBf16Kernels SCALAR = ScalarStoredBf16Kernels.INSTANCE;
    /** Lengths around the vector width so that both the vector body and the scalar tail run. */
    private static final int[] LENGTHS = {0, 1, 15, 16, 17, 63, 64, 65, 1000, 4099};

    @Test
    void vectorKernelsAreInUse() {
        assertEquals(VECTOR.name(), StoredBf16Kernels.best().name());
    }

    @Test
    void linearMatchesScalarBitForBit() {
        Random random = new Random(11);
        for (int length : LENGTHS) {
            for (int models = 1; models <= 3; models++) {
                for (boolean normalize : new boolean[] {true, false}) {
                    MemorySegment[] inputs = new MemorySegment[models];
                    float[] weights = new float[models];
                    for (int i = 0; i < models; i++) {
                        inputs[i] = bf16(random, length);
                        weights[i] = Precision.BF16.round((float) random.nextGaussian());
                    }
                    MemorySegment expected = MemorySegment.ofArray(new short[length]);
                    MemorySegment actual = MemorySegment.ofArray(new short[length]);
                    SCALAR.linear(inputs, weights, normalize, 0.7f, expected, length);
                    VECTOR.linear(inputs, weights, normalize, 0.7f, actual, length);
                    assertArrayEquals(
                            floats(expected),
                            floats(actual),
                            "length " + length + ", " + models + " models, normalize " + normalize);
                }
            }
        }
    }

    @Test
    void taskArithmeticMatchesScalarBitForBit() {
        Random random = new Random(13);
        for (int length : LENGTHS) {
            for (int models = 0; models <= 2; models++) {
                for (boolean normalize : new boolean[] {true, false}) {
                    for (float lambda : new float[] {1f, 0.85f}) {
                        MemorySegment base = bf16(random, length);
                        MemorySegment[] others = new MemorySegment[models];
                        float[] weights = new float[models];
                        for (int i = 0; i < models; i++) {
                            others[i] = bf16(random, length);
                            weights[i] = Precision.BF16.round((float) random.nextGaussian());
                        }
                        MemorySegment expected = MemorySegment.ofArray(new short[length]);
                        MemorySegment actual = MemorySegment.ofArray(new short[length]);
                        SCALAR.taskArithmetic(base, others, weights, normalize, 0.7f, lambda, expected, length);
                        VECTOR.taskArithmetic(base, others, weights, normalize, 0.7f, lambda, actual, length);
                        assertArrayEquals(
                                floats(expected),
                                floats(actual),
                                "length " + length + ", " + models + " models, normalize " + normalize + ", lambda "
                                        + lambda);
                    }
                }
            }
        }
    }

    @Test
    void fusedTaskArithmeticWritesWhatTheFloatPathWrites() {
        Random random = new Random(14);
        TaskArithmeticFamily method = TaskArithmeticMethods.TASK_ARITHMETIC;
        for (int models = 1; models <= 3; models++) {
            for (boolean normalize : new boolean[] {true, false}) {
                for (double lambda : new double[] {1, 0.85}) {
                    int length = 4099;
                    int baseIndex = models / 2;
                    List<MemorySegment> stored = new ArrayList<>();
                    List<Params> params = new ArrayList<>();
                    List<MergeInput> inputs = new ArrayList<>();
                    for (int i = 0; i < models; i++) {
                        MemorySegment bytes = bf16(random, length);
                        float[] values = new float[length];
                        FloatConversion.decode(DType.BF16, bytes, values, 0, length);
                        Params p = Params.of("weight", random.nextGaussian(), "density", 1.0);
                        stored.add(bytes);
                        params.add(p);
                        inputs.add(new MergeInput("model" + i, values, p));
                    }
                    Params global = Params.of("normalize", normalize, "lambda", lambda, "rescale", false);
                    TensorGroup group = bf16Group("t", new long[] {length}, inputs, baseIndex, global);
                    MemorySegment expected = floatPath(method, group, length);
                    MemorySegment actual = fused(method, group, stored, length);
                    assertArrayEquals(
                            floats(expected),
                            floats(actual),
                            models + " models, normalize " + normalize + ", lambda " + lambda);
                }
            }
        }
    }

    @Test
    void fusedLinearWritesWhatTheFloatPathWrites() {
        Random random = new Random(12);
        Linear linear = new Linear();
        for (boolean normalize : new boolean[] {true, false}) {
            int length = 4099;
            List<MemorySegment> stored = new ArrayList<>();
            List<Params> params = new ArrayList<>();
            List<MergeInput> inputs = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                MemorySegment bytes = bf16(random, length);
                float[] values = new float[length];
                FloatConversion.decode(DType.BF16, bytes, values, 0, length);
                Params p = Params.of("weight", random.nextGaussian());
                stored.add(bytes);
                params.add(p);
                inputs.add(new MergeInput("model" + i, values, p));
            }
            Params global = Params.of("normalize", normalize);
            TensorGroup group = bf16Group("t", new long[] {length}, inputs, -1, global);
            MemorySegment expected = floatPath(linear, group, length);
            MemorySegment actual = fused(linear, group, stored, length);
            assertArrayEquals(floats(expected), floats(actual), "normalize " + normalize);
        }
    }

    @Test
    void taskVectorMatchesScalarBitForBit() {
        Random random = new Random(16);
        for (int length : LENGTHS) {
            for (int first : new int[] {0, 3, 64}) {
                MemorySegment x = bf16(random, first + length);
                MemorySegment base = bf16(random, first + length);
                float[] expected = new float[length];
                float[] actual = new float[length];
                SCALAR.taskVector(x, base, first, expected, length);
                VECTOR.taskVector(x, base, first, actual, length);
                assertArrayEquals(expected, actual, "length " + length + ", first " + first);
            }
        }
    }

    @Test
    void oneModelFinishMatchesScalarBitForBit() {
        Random random = new Random(17);
        for (int length : LENGTHS) {
            for (int flags = 0; flags < 16; flags++) {
                OneModelCase c = OneModelCase.of(random, length, flags);
                MemorySegment expected = MemorySegment.ofArray(new short[length]);
                MemorySegment actual = MemorySegment.ofArray(new short[length]);
                c.finish(SCALAR, expected);
                c.finish(VECTOR, actual);
                assertArrayEquals(floats(expected), floats(actual), "length " + length + ", " + c.steps());
            }
        }
    }

    /** The fused steps for one model against the general kernels run for one model, on every special value. */
    @Test
    void oneModelFinishIsTheGeneralFinishWithOneModel() {
        Random random = new Random(18);
        ScalarMergeKernels general = ScalarMergeKernels.INSTANCE;
        Precision p = Precision.BF16;
        int length = 4099;
        for (int flags = 0; flags < 16; flags++) {
            OneModelCase c = OneModelCase.of(random, length, flags);
            StoredBf16Kernels.OneModelSteps steps = c.steps();
            float[] weighted = c.delta().clone();
            float[] mixed = new float[length];
            float[] signSum = new float[length];
            float[] divisors = new float[length];
            general.weightAndSum(
                    p,
                    weighted,
                    length,
                    p,
                    steps.rescaled(),
                    steps.factor(),
                    steps.weight(),
                    steps.electSign() ? signSum : mixed);
            if (steps.electSign()) {
                general.electedAdd(p, mixed, divisors, weighted, signSum, steps.weight(), length);
                general.divisors(p, divisors, length);
            }
            float[] merged = new float[length];
            float[] base = floats(c.base());
            general.finishTaskArithmetic(
                    p,
                    mixed,
                    base,
                    merged,
                    steps.normalize(),
                    steps.electSign() ? divisors : null,
                    steps.electSign() ? 1 : steps.divisor(),
                    steps.lambda(),
                    length);
            MemorySegment expected = MemorySegment.ofArray(new short[length]);
            FloatConversion.encode(DType.BF16, merged, 0, expected, length);
            MemorySegment actual = MemorySegment.ofArray(new short[length]);
            c.finish(SCALAR, actual);
            assertArrayEquals(floats(expected), floats(actual), steps.toString());
        }
    }

    /** One set of arguments of {@link StoredBf16Kernels#finishOneModel}, the four flags taken from the bits of one int. */
    private record OneModelCase(float[] delta, MemorySegment base, StoredBf16Kernels.OneModelSteps steps) {
        static OneModelCase of(Random random, int length, int flags) {
            return new OneModelCase(
                    floats(bf16(random, length)),
                    bf16(random, length),
                    new StoredBf16Kernels.OneModelSteps(
                            (flags & 1) != 0,
                            Precision.BF16.round(1 + random.nextFloat()),
                            // Zero weights and negative ones are cases of their own for the vote.
                            random.nextInt(8) == 0 ? 0 : Precision.BF16.round((float) random.nextGaussian()),
                            (flags & 2) != 0,
                            (flags & 4) != 0,
                            0.7f,
                            (flags & 8) != 0 ? 0.85f : 1f));
        }

        void finish(StoredBf16Kernels kernels, MemorySegment out) {
            kernels.finishOneModel(delta, base, 0, steps, out, delta.length);
        }
    }

    @Test
    void fusedTaskArithmeticFamilyWritesWhatTheFloatPathWrites() {
        Random random = new Random(15);
        for (String name : List.of(
                "ties", "dare_ties", "dare_linear", "breadcrumbs", "breadcrumbs_ties", "della", "della_linear")) {
            MergeMethod method = MethodRegistry.find(name);
            // One model besides the base takes the fused single-model path, two the general one.
            for (int others = 1; others <= 2; others++) {
                for (int flags = 0; flags < 16; flags++) {
                    boolean rescale = (flags & 1) != 0;
                    boolean normalize = (flags & 2) != 0;
                    double lambda = (flags & 4) != 0 ? 0.9 : 1;
                    // Density 1 prunes nothing: the models have no pruning plan.
                    double density = (flags & 8) != 0 ? 1 : 0.4;
                    int rows = 7;
                    int columns = 1000;
                    int length = rows * columns;
                    int baseIndex = others == 1 ? 0 : 1;
                    MemorySegment baseBytes = withZeros(random, finite(random, length));
                    List<MemorySegment> stored = new ArrayList<>();
                    List<MergeInput> inputs = new ArrayList<>();
                    for (int i = 0; i <= others; i++) {
                        MemorySegment bytes = i == baseIndex ? baseBytes : tuned(random, baseBytes);
                        float[] values = new float[length];
                        FloatConversion.decode(DType.BF16, bytes, values, 0, length);
                        stored.add(bytes);
                        inputs.add(new MergeInput(
                                "model" + i,
                                values,
                                Params.of(
                                        "weight",
                                        0.3 + random.nextDouble(),
                                        "density",
                                        density,
                                        "gamma",
                                        0.05,
                                        "epsilon",
                                        0.1)));
                    }
                    Params global =
                            Params.of("normalize", normalize, "rescale", rescale, "lambda", lambda, "int8_mask", false);
                    TensorGroup group = bf16Group(
                            "model.layers.0.mlp.up_proj.weight", new long[] {rows, columns}, inputs, baseIndex, global);
                    MemorySegment expected = floatPath(method, group, length);
                    MemorySegment actual = fused((StoredBf16Merge) method, group, stored, length);
                    assertArrayEquals(
                            (short[]) expected.heapBase().orElseThrow(),
                            (short[]) actual.heapBase().orElseThrow(),
                            name + ", " + others + " other models, rescale " + rescale + ", normalize " + normalize
                                    + ", lambda " + lambda + ", density " + density);
                }
            }
        }
    }

    @Test
    void fusedSlerpWritesWhatTheFloatPathWrites() {
        Random random = new Random(19);
        MergeMethod slerp = MethodRegistry.find("slerp");
        // Past one block of the fused path (16 Ki elements) too, so that the sums carry across blocks.
        for (int length : new int[] {1, 17, 4099, 40_000}) {
            for (double t : new double[] {0, 0.3, 1}) {
                MemorySegment base = finite(random, length);
                // An unrelated tensor, a fine-tuned one, the base itself (parallel: the linear fallback), zeros (a
                // norm below epsilon), and no other tensor at all (the base is returned).
                for (int kind = 0; kind < 5; kind++) {
                    List<MemorySegment> stored = switch (kind) {
                        case 0 -> List.of(base, finite(random, length));
                        case 1 -> List.of(base, tuned(random, base));
                        case 2 -> List.of(base, base);
                        case 3 -> List.of(base, MemorySegment.ofArray(new short[length]));
                        default -> List.of(base);
                    };
                    List<MergeInput> inputs = new ArrayList<>();
                    for (int i = 0; i < stored.size(); i++) {
                        float[] values = new float[length];
                        FloatConversion.decode(DType.BF16, stored.get(i), values, 0, length);
                        inputs.add(new MergeInput("model" + i, values, Params.NONE));
                    }
                    TensorGroup group = bf16Group("t", new long[] {length}, inputs, 0, Params.of("t", t));
                    MemorySegment expected = floatPath(slerp, group, length);
                    MemorySegment actual = fused((StoredBf16Merge) slerp, group, stored, length);
                    assertArrayEquals(
                            (short[]) expected.heapBase().orElseThrow(),
                            (short[]) actual.heapBase().orElseThrow(),
                            "length " + length + ", t " + t + ", kind " + kind);
                    if (inputs.size() == 2) {
                        assertArrayEquals(
                                wholeArraySlerp(
                                        t, inputs.get(0).values(), inputs.get(1).values()),
                                floats(expected),
                                "against whole-array sums: length " + length + ", t " + t + ", kind " + kind);
                    }
                }
            }
        }
    }

    /** Slerp written out over whole arrays in one go, the reference for the block-by-block sums. */
    private static float[] wholeArraySlerp(double t, float[] v0, float[] v1) {
        double squares0 = 0;
        double squares1 = 0;
        for (int i = 0; i < v0.length; i++) {
            squares0 += (double) v0[i] * v0[i];
            squares1 += (double) v1[i] * v1[i];
        }
        float scale0 = Math.sqrt(squares0) > 1e-8 ? (float) Math.sqrt(squares0) : 1f;
        float scale1 = Math.sqrt(squares1) > 1e-8 ? (float) Math.sqrt(squares1) : 1f;
        double dot = 0;
        for (int i = 0; i < v0.length; i++) {
            dot += (double) (v0[i] / scale0) * (v1[i] / scale1);
        }
        double theta = Math.acos(dot);
        boolean linear = Math.abs(dot) > 0.9995;
        float c0 = (float) (linear ? 1 - t : Math.sin(theta - theta * t) / Math.sin(theta));
        float c1 = (float) (linear ? t : Math.sin(theta * t) / Math.sin(theta));
        float[] out = new float[v0.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = Precision.BF16.round(c0 * v0[i] + c1 * v1[i]);
        }
        return out;
    }

    /** A group of bf16 tensors as the executor builds one, its masks seeded by the tensor's name. */
    private static TensorGroup bf16Group(
            String name, long[] shape, List<MergeInput> inputs, int baseIndex, Params global) {
        return new TensorGroup(
                name, shape, false, inputs, baseIndex, global, Precision.BF16, MaskSource.seeded(1, name));
    }

    /** What the method's float path writes: its result encoded as BF16. */
    private static MemorySegment floatPath(MergeMethod method, TensorGroup group, int length) {
        MemorySegment bytes = MemorySegment.ofArray(new short[length]);
        FloatConversion.encode(DType.BF16, method.merge(group), 0, bytes, length);
        return bytes;
    }

    /** Runs a fused merge into a fresh array, handing out its room in the pieces the method asks for. */
    public static MemorySegment fused(StoredBf16Merge method, TensorGroup group, List<MemorySegment> stored, int n) {
        MemorySegment out = MemorySegment.ofArray(new short[n]);
        long[] next = {0};
        method.mergeStoredBf16(group, stored, n, count -> {
            MemorySegment room = out.asSlice(next[0] * 2, count * 2L);
            next[0] += count;
            return room;
        });
        assertEquals(n, next[0]);
        return out;
    }

    /** Ordinary finite bf16 weights (the NaN cases are covered above; their payloads are not stable). */
    private static MemorySegment finite(Random random, int length) {
        short[] values = new short[length];
        for (int i = 0; i < length; i++) {
            values[i] = (short) (Float.floatToRawIntBits((float) random.nextGaussian() * 0.02f) >>> 16);
        }
        return MemorySegment.ofArray(values);
    }

    /** The values with about one in twenty replaced by a zero of either sign. */
    private static MemorySegment withZeros(Random random, MemorySegment bf16) {
        short[] values = (short[]) bf16.heapBase().orElseThrow();
        for (int i = 0; i < values.length; i++) {
            if (random.nextInt(20) == 0) {
                values[i] = (short) (random.nextBoolean() ? 0 : 0x8000);
            }
        }
        return bf16;
    }

    /**
     * A fine-tuned variant of finite bf16 weights: mostly base plus a small change, some elements unchanged (a zero
     * task vector) and some zeros of either sign.
     */
    private static MemorySegment tuned(Random random, MemorySegment base) {
        short[] values = ((short[]) base.heapBase().orElseThrow()).clone();
        for (int i = 0; i < values.length; i++) {
            int kind = random.nextInt(10);
            if (kind == 0) {
                values[i] = (short) (random.nextBoolean() ? 0 : 0x8000);
            } else if (kind > 1) {
                float changed = FloatCodec.bf16ToFloat(values[i]) + (float) random.nextGaussian() * 0.002f;
                values[i] = (short) (Float.floatToRawIntBits(changed) >>> 16);
            }
        }
        return MemorySegment.ofArray(values);
    }

    /**
     * The values as floats, compared as JUnit compares floats: bit for bit, except that all NaNs are equal (which NaN
     * an operation on two NaNs returns depends on the order the hardware reads its operands in).
     */
    private static float[] floats(MemorySegment bf16) {
        float[] values = new float[(int) (bf16.byteSize() / 2)];
        FloatConversion.decode(DType.BF16, bf16, values, 0, values.length);
        return values;
    }

    /** Bf16 values of every kind: zeros of both signs, subnormals, infinities, NaNs, extremes and ordinary weights. */
    private static MemorySegment bf16(Random random, int length) {
        short[] values = new short[length];
        for (int i = 0; i < length; i++) {
            int bits = switch (random.nextInt(10)) {
                case 0 -> 0;
                case 1 -> 0x8000;
                case 2 -> random.nextInt(0x80) | (random.nextBoolean() ? 0x8000 : 0);
                case 3 -> random.nextBoolean() ? 0x7f80 : 0xff80;
                case 4 -> 0x7f81 + random.nextInt(0x7e) | (random.nextBoolean() ? 0x8000 : 0);
                case 5 -> random.nextBoolean() ? 0x7f7f : 0xff7f;
                default -> Float.floatToRawIntBits((float) random.nextGaussian() * 0.02f) >>> 16;
            };
            values[i] = (short) bits;
        }
        return MemorySegment.ofArray(values);
    }
}
