package dev.safemerge.merge.method;

import static dev.safemerge.merge.ParameterSpec.Scope.PER_MODEL;

import dev.safemerge.merge.DeclaredMethod;
import dev.safemerge.merge.MergeInput;
import dev.safemerge.merge.ParameterSpec;
import dev.safemerge.merge.TensorGroup;
import dev.safemerge.merge.kernel.Precision;
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
        Precision p = group.precision();
        if (base != null) {
            v0 = Vectors.minus(v0, base);
            v1 = Vectors.minus(v1, base);
            p.roundAll(v0);
            p.roundAll(v1);
        }
        float[] out = new float[v0.length];
        int length = v0.length;
        if (group.global().flag("nuslerp_flatten") || group.shape().length < 2) {
            interpolate(t, v0, v1, out, 0, length, 1, p);
        } else if (group.global().flag("nuslerp_row_wise")) {
            // Vectors along the first axis: element j of vector c sits at c + j * stride.
            int stride = length / Math.toIntExact(group.shape()[0]);
            for (int c = 0; c < stride; c++) {
                interpolate(t, v0, v1, out, c, Math.toIntExact(group.shape()[0]), stride, p);
            }
        } else {
            int row = group.rowLength();
            for (int start = 0; start < length; start += row) {
                interpolate(t, v0, v1, out, start, row, 1, p);
            }
        }
        if (base != null) {
            for (int i = 0; i < out.length; i++) {
                out[i] = base[i] + out[i];
            }
        }
        p.roundAll(out);
        return out;
    }

    /**
     * nuslerp.py's nuslerp on one vector (element j at offset + j·stride), one tensor op per step rounded to the
     * working precision where torch stores it: the norms, the unit vectors, their products and dot product, θ, the
     * sines and each weighted term.
     */
    private static void interpolate(
            double t, float[] v0, float[] v1, float[] out, int offset, int n, int stride, Precision p) {
        float n0 = Math.max(norm(v0, offset, n, stride, p), 1e-7f);
        float n1 = Math.max(norm(v1, offset, n, stride, p), 1e-7f);
        double dot = 0;
        for (int j = 0, i = offset; j < n; j++, i += stride) {
            dot += p.round(p.round(v0[i] / n0) * p.round(v1[i] / n1));
        }
        float cos = p.round((float) dot);
        float theta = p.round((float) Math.acos(Math.clamp(cos, -1f, 1f)));
        float sinTheta = p.round((float) Math.sin(theta));
        boolean colinear = Math.abs(sinTheta) < 1e-8;
        float c0 = colinear ? (float) (1 - t) : p.round((float) Math.sin(p.round((float) (1 - t) * theta)));
        float c1 = colinear ? (float) t : p.round((float) Math.sin(p.round((float) t * theta)));
        for (int j = 0, i = offset; j < n; j++, i += stride) {
            float mixed = p.round(p.round(c0 * v0[i]) + p.round(c1 * v1[i]));
            out[i] = colinear ? mixed : p.round(mixed / sinTheta);
        }
    }

    /** torch.norm of one vector: the squares summed in float32 or wider, the root rounded to the working precision. */
    private static float norm(float[] v, int offset, int n, int stride, Precision p) {
        double squares = 0;
        for (int j = 0, i = offset; j < n; j++, i += stride) {
            squares += (double) v[i] * v[i];
        }
        return p.round((float) Math.sqrt(squares));
    }
}
