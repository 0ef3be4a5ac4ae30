package dev.safemerge.merge;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.safemerge.merge.kernel.Precision;
import dev.safemerge.merge.kernel.StoredBf16KernelsTest;
import dev.safemerge.merge.method.TaskArithmeticFamily;
import dev.safemerge.merge.method.TaskArithmeticMethods;
import dev.safemerge.tensor.DType;
import dev.safemerge.tensor.FloatConversion;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The fast paths of the task-arithmetic family (block kernels on the Vector API, the fused stored-BF16 kernels)
 * against {@link TaskArithmeticMethods#reference}, bit for bit, on seeded inputs with zeros of both signs,
 * subnormals, infinities, NaN and huge values. NaNs compare equal whatever their payload, which rounding may change.
 */
class TaskArithmeticReferenceTest {
    private static final List<TaskArithmeticFamily> METHODS = MethodRegistry.all().values().stream()
            .filter(TaskArithmeticFamily.class::isInstance)
            .map(TaskArithmeticFamily.class::cast)
            .toList();
    private static final float[] SPECIAL = {
        0f, -0f, Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 1e-40f, -1e-40f, 3e38f, -3e38f
    };
    /** Two whole blocks of the block loops (2048 elements) and a partial third, so block boundaries are crossed. */
    private static final int LENGTH = 2 * 2048 + 37;

    @Test
    void everyMethodOfTheFamilyIsTested() {
        assertEquals(8, METHODS.size());
    }

    @Test
    void blockKernelsMatchTheReference() {
        Random random = new Random(23);
        for (TaskArithmeticFamily method : METHODS) {
            for (Precision p : List.of(Precision.F32, Precision.BF16)) {
                for (int others = 1; others <= 3; others++) {
                    for (int flags = 0; flags < 8; flags++) {
                        TensorGroup group = group(random, p, others, flags);
                        assertSameBits(
                                TaskArithmeticMethods.reference(method, group),
                                method.merge(group),
                                method.name() + " " + p + ", " + others + " other models, flags " + flags);
                    }
                }
            }
        }
    }

    @Test
    void fusedStoredBf16KernelsMatchTheReference() {
        Random random = new Random(29);
        for (TaskArithmeticFamily method : METHODS) {
            for (int others = 1; others <= 3; others++) {
                for (int flags = 0; flags < 8; flags++) {
                    TensorGroup group = group(random, Precision.BF16, others, flags);
                    List<MemorySegment> stored = new ArrayList<>();
                    for (MergeInput input : group.inputs()) {
                        stored.add(bf16(input.values()));
                    }
                    float[] fused = new float[LENGTH];
                    FloatConversion.decode(
                            DType.BF16, StoredBf16KernelsTest.fused(method, group, stored, LENGTH), fused, 0, LENGTH);
                    assertSameBits(
                            TaskArithmeticMethods.reference(method, group),
                            fused,
                            method.name() + " stored bf16, " + others + " other models, flags " + flags);
                }
            }
        }
    }

    /**
     * A base and {@code others} tuned models, every value representable in the working precision (as the stored
     * inputs of the fused path are); flags choose normalize, rescale and lambda ≠
     * 1. The base sits first, or second when there are two other models, as a config may list it anywhere.
     */
    private static TensorGroup group(Random random, Precision p, int others, int flags) {
        float[] base = weights(random, p);
        int baseIndex = others == 2 ? 1 : 0;
        List<MergeInput> inputs = new ArrayList<>();
        for (int i = 0; i <= others; i++) {
            if (i == baseIndex) {
                inputs.add(new MergeInput("base", base, Params.NONE));
                continue;
            }
            float[] tuned = base.clone();
            for (int j = 0; j < LENGTH; j++) {
                int kind = random.nextInt(10);
                if (kind == 0) {
                    tuned[j] = p.round(SPECIAL[random.nextInt(SPECIAL.length)]);
                } else if (kind > 2) {
                    tuned[j] = p.round(tuned[j] + (float) random.nextGaussian() * 0.002f);
                }
            }
            double weight = random.nextInt(8) == 0 ? 0 : -0.5 + 2 * random.nextDouble();
            inputs.add(new MergeInput(
                    "model" + i,
                    tuned,
                    Params.of(
                            "weight",
                            weight,
                            "density",
                            random.nextBoolean() ? 1 : 0.5 + 0.4 * random.nextDouble(),
                            "gamma",
                            0.05,
                            "epsilon",
                            0.1)));
        }
        Params global = Params.of(
                "normalize",
                (flags & 1) != 0,
                "rescale",
                (flags & 2) != 0,
                "lambda",
                (flags & 4) != 0 ? 0.7 : 1,
                "int8_mask",
                false);
        String name = "model.layers.0.mlp.up_proj.weight";
        return new TensorGroup(
                name, new long[] {LENGTH}, false, inputs, baseIndex, global, p, MaskSource.seeded(3, name));
    }

    /** Small weights as a checkpoint holds them, about one in fifty a special value. */
    private static float[] weights(Random random, Precision p) {
        float[] values = new float[LENGTH];
        for (int j = 0; j < LENGTH; j++) {
            values[j] = random.nextInt(50) == 0
                    ? p.round(SPECIAL[random.nextInt(SPECIAL.length)])
                    : p.round((float) random.nextGaussian() * 0.02f);
        }
        return values;
    }

    private static MemorySegment bf16(float[] values) {
        MemorySegment bytes = MemorySegment.ofArray(new short[values.length]);
        FloatConversion.encode(DType.BF16, values, 0, bytes, values.length);
        return bytes;
    }

    private static void assertSameBits(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what);
        for (int j = 0; j < expected.length; j++) {
            if (Float.floatToIntBits(expected[j]) != Float.floatToIntBits(actual[j])) {
                assertEquals(expected[j], actual[j], what + ", element " + j);
                throw new AssertionError(what + ", element " + j + ": expected " + expected[j] + " got " + actual[j]
                        + " (sign of zero)");
            }
        }
    }
}
