package dev.safemerge.merge.method;

import static dev.safemerge.merge.ParameterSpec.Scope.PER_MODEL;

import dev.safemerge.merge.DeclaredMethod;
import dev.safemerge.merge.MergeInput;
import dev.safemerge.merge.ParameterSpec;
import dev.safemerge.merge.TensorGroup;
import java.util.List;

/**
 * SLERP of two models with {@code t = w2 / (w1 + w2)}, over the whole tensor or per row/column vector; with a base
 * model the two task vectors are interpolated and the base added back.
 */
public final class NuSlerp extends DeclaredMethod {
    public NuSlerp() {
        super(
                "nuslerp",
                List.of(
                        ParameterSpec.required("weight", PER_MODEL),
                        ParameterSpec.flag("nuslerp_flatten", true),
                        ParameterSpec.flag("nuslerp_row_wise", false)),
                BaseModelRule.OPTIONAL,
                EmbedSizeRule.COMMON_SUBMATRIX);
    }

    @Override
    public String checkInputs(int others, boolean hasBase) {
        return others == 2 ? null : "nuslerp needs exactly two models besides the optional base_model";
    }

    @Override
    public float[] merge(TensorGroup group) {
        if (group.inputs().size() == 1) {
            return group.inputs().getFirst().values().clone();
        }
        List<MergeInput> others = group.nonBase();
        if (others.size() != 2) {
            throw new IllegalArgumentException(checkInputs(others.size(), group.hasBase()));
        }
        double w1 = others.get(0).params().get("weight");
        double w2 = others.get(1).params().get("weight");
        double t = Math.abs(w1 + w2) < 1e-6 ? 0.5 : w2 / (w1 + w2);
        float[] v0 = others.get(0).values();
        float[] v1 = others.get(1).values();
        float[] base = group.hasBase() ? group.base().values() : null;
        if (base != null) {
            v0 = Vectors.minus(v0, base);
            v1 = Vectors.minus(v1, base);
            group.precision().roundAll(v0);
            group.precision().roundAll(v1);
        }
        float[] out = new float[v0.length];
        int length = v0.length;
        if (group.global().flag("nuslerp_flatten") || group.shape().length < 2) {
            interpolate(t, v0, v1, out, 0, length, 1);
        } else if (group.global().flag("nuslerp_row_wise")) {
            // Vectors along the first axis: element j of vector c sits at c + j * stride.
            int stride = length / Math.toIntExact(group.shape()[0]);
            for (int c = 0; c < stride; c++) {
                interpolate(t, v0, v1, out, c, Math.toIntExact(group.shape()[0]), stride);
            }
        } else {
            int row = group.rowLength();
            for (int start = 0; start < length; start += row) {
                interpolate(t, v0, v1, out, start, row, 1);
            }
        }
        if (base != null) {
            group.precision().roundAll(out);
            for (int i = 0; i < out.length; i++) {
                out[i] = base[i] + out[i];
            }
        }
        group.precision().roundAll(out);
        return out;
    }

    private static void interpolate(double t, float[] v0, float[] v1, float[] out, int offset, int n, int stride) {
        double sq0 = 0;
        double sq1 = 0;
        for (int j = 0, i = offset; j < n; j++, i += stride) {
            sq0 += (double) v0[i] * v0[i];
            sq1 += (double) v1[i] * v1[i];
        }
        double n0 = Math.max(Math.sqrt(sq0), 1e-7);
        double n1 = Math.max(Math.sqrt(sq1), 1e-7);
        double cos = 0;
        for (int j = 0, i = offset; j < n; j++, i += stride) {
            cos += (v0[i] / n0) * (v1[i] / n1);
        }
        double theta = Math.acos(Math.max(-1, Math.min(1, cos)));
        double sinTheta = Math.sin(theta);
        double c0;
        double c1;
        if (Math.abs(sinTheta) < 1e-8) {
            c0 = 1 - t;
            c1 = t;
        } else {
            c0 = Math.sin((1 - t) * theta) / sinTheta;
            c1 = Math.sin(t * theta) / sinTheta;
        }
        for (int j = 0, i = offset; j < n; j++, i += stride) {
            out[i] = (float) (c0 * v0[i] + c1 * v1[i]);
        }
    }
}
