package dev.safemerge.merge.method;

import static dev.safemerge.merge.ParameterSpec.Scope.GLOBAL;

import dev.safemerge.merge.DeclaredMethod;
import dev.safemerge.merge.ParameterSpec;
import dev.safemerge.merge.StoredBf16Merge;
import dev.safemerge.merge.TensorGroup;
import dev.safemerge.merge.kernel.MergeKernels;
import dev.safemerge.merge.kernel.Precision;
import dev.safemerge.tensor.DType;
import dev.safemerge.tensor.FloatConversion;
import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * Spherical interpolation from the base model (t = 0) to the other model (t = 1), computed in float32 whatever the
 * working dtype and rounded once; nearly parallel tensors are interpolated linearly. The norms and the dot product
 * are sequential double sums in element order, so the float path and the fused path from stored BF16 (which reads
 * the tensors block by block, three times) give the same bits.
 */
public final class Slerp extends DeclaredMethod implements StoredBf16Merge {
    static final double DOT_THRESHOLD = 0.9995;
    static final double EPS = 1e-8;
    private static final int BLOCK = 1 << 14;

    public Slerp() {
        super(
                "slerp",
                List.of(ParameterSpec.required("t", GLOBAL).within(0, 1)),
                BaseModelRule.REQUIRED,
                EmbedSizeRule.COMMON_SUBMATRIX);
    }

    @Override
    public String checkInputs(int others, boolean hasBase) {
        return hasBase && others == 1 ? null : "slerp needs exactly two models, the base_model and one other";
    }

    @Override
    public float[] merge(TensorGroup group) {
        if (group.inputs().size() == 1) {
            return group.inputs().getFirst().values().clone();
        }
        float[] v0 = group.base().values();
        float[] v1 = group.nonBase().getFirst().values();
        float[] out = new float[v0.length];
        slerp(
                group.global().get("t"),
                group.precision(),
                Pair.of(v0, v1),
                (start, block, count) -> System.arraycopy(block, 0, out, start, count));
        return out;
    }

    @Override
    public void mergeStoredBf16(TensorGroup group, List<MemorySegment> inputs, long count, Bf16Output out) {
        int n = Math.toIntExact(count);
        if (inputs.size() == 1) {
            StoredBf16Merge.copyQuieted(inputs.getFirst(), n, out);
            return;
        }
        MemorySegment v0 = inputs.get(group.baseIndex());
        MemorySegment v1 = inputs.get(1 - group.baseIndex());
        slerp(
                group.global().get("t"),
                group.precision(),
                Pair.bf16(v0, v1, n),
                (start, block, length) -> FloatConversion.encode(DType.BF16, block, 0, out.next(length), length));
    }

    private static void slerp(double t, Precision p, Pair pair, Ranks.BlockConsumer result) {
        double[] squares = new double[2];
        pair.forEach((start, v0, v1, from, count) -> {
            double sum0 = squares[0];
            double sum1 = squares[1];
            for (int i = from; i < from + count; i++) {
                sum0 += (double) v0[i] * v0[i];
                sum1 += (double) v1[i] * v1[i];
            }
            squares[0] = sum0;
            squares[1] = sum1;
        });
        double norm0 = Math.sqrt(squares[0]);
        double norm1 = Math.sqrt(squares[1]);
        float scale0 = norm0 > EPS ? (float) norm0 : 1f;
        float scale1 = norm1 > EPS ? (float) norm1 : 1f;
        double[] dot = new double[1];
        pair.forEach((start, v0, v1, from, count) -> {
            double sum = dot[0];
            for (int i = from; i < from + count; i++) {
                sum += (double) (v0[i] / scale0) * (v1[i] / scale1);
            }
            dot[0] = sum;
        });
        float c0;
        float c1;
        if (Math.abs(dot[0]) > DOT_THRESHOLD) {
            c0 = (float) (1 - t);
            c1 = (float) t;
        } else {
            double theta0 = Math.acos(dot[0]);
            double sinTheta0 = Math.sin(theta0);
            double thetaT = theta0 * t;
            c0 = (float) (Math.sin(theta0 - thetaT) / sinTheta0);
            c1 = (float) (Math.sin(thetaT) / sinTheta0);
        }
        MergeKernels kernels = MergeKernels.best();
        float[] out = new float[Math.min(BLOCK, pair.length())];
        pair.forEach((start, v0, v1, from, count) -> {
            for (int i = 0; i < count; i++) {
                out[i] = c0 * v0[from + i] + c1 * v1[from + i];
            }
            kernels.round(p, out, count);
            result.accept(start, out, count);
        });
    }

    /** The two tensors, replayed block by block in element order: float arrays, or stored BF16 decoded on the way. */
    private interface Pair {
        int length();

        void forEach(Blocks consumer);

        @FunctionalInterface
        interface Blocks {
            /** {@code v0} and {@code v1} hold elements {@code [start, start + count)} from index {@code from} on. */
            void accept(int start, float[] v0, float[] v1, int from, int count);
        }

        static Pair of(float[] v0, float[] v1) {
            return new Pair() {
                @Override
                public int length() {
                    return v0.length;
                }

                @Override
                public void forEach(Blocks consumer) {
                    for (int start = 0; start < v0.length; start += BLOCK) {
                        consumer.accept(start, v0, v1, start, Math.min(BLOCK, v0.length - start));
                    }
                }
            };
        }

        static Pair bf16(MemorySegment v0, MemorySegment v1, int n) {
            return new Pair() {
                @Override
                public int length() {
                    return n;
                }

                @Override
                public void forEach(Blocks consumer) {
                    float[] block0 = new float[Math.min(BLOCK, n)];
                    float[] block1 = new float[block0.length];
                    for (int start = 0, count; start < n; start += count) {
                        count = Math.min(block0.length, n - start);
                        FloatConversion.decode(DType.BF16, v0.asSlice(start * 2L, count * 2L), block0, 0, count);
                        FloatConversion.decode(DType.BF16, v1.asSlice(start * 2L, count * 2L), block1, 0, count);
                        consumer.accept(start, block0, block1, 0, count);
                    }
                }
            };
        }
    }
}
