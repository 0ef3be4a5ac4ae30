package dev.safemerge.merge.method;

import static dev.safemerge.merge.ParameterSpec.Scope.GLOBAL;

import dev.safemerge.merge.MergeMethod;
import dev.safemerge.merge.ParameterSpec;
import dev.safemerge.merge.TensorGroup;
import java.util.List;

/**
 * Spherical interpolation from the base model (t = 0) to the other model (t = 1), computed in float32 whatever the
 * working dtype and rounded once; nearly parallel tensors are interpolated linearly.
 */
public final class Slerp implements MergeMethod {
    static final double DOT_THRESHOLD = 0.9995;
    static final double EPS = 1e-8;

    @Override
    public String name() {
        return "slerp";
    }

    @Override
    public List<ParameterSpec> parameters() {
        return List.of(ParameterSpec.required("t", GLOBAL));
    }

    @Override
    public BaseModelRule baseModel() {
        return BaseModelRule.REQUIRED;
    }

    @Override
    public EmbedSizeRule embedSizes() {
        return EmbedSizeRule.COMMON_SUBMATRIX;
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
        double t = group.global().get("t");
        float[] out = slerp(t, v0, v1);
        group.precision().roundAll(out);
        return out;
    }

    static float[] slerp(double t, float[] v0, float[] v1) {
        double norm0 = Vectors.norm(v0);
        double norm1 = Vectors.norm(v1);
        float scale0 = norm0 > EPS ? (float) norm0 : 1f;
        float scale1 = norm1 > EPS ? (float) norm1 : 1f;
        double dot = 0;
        for (int i = 0; i < v0.length; i++) {
            dot += (double) (v0[i] / scale0) * (v1[i] / scale1);
        }
        float[] out = new float[v0.length];
        float c0;
        float c1;
        if (Math.abs(dot) > DOT_THRESHOLD) {
            c0 = (float) (1 - t);
            c1 = (float) t;
        } else {
            double theta0 = Math.acos(dot);
            double sinTheta0 = Math.sin(theta0);
            double thetaT = theta0 * t;
            c0 = (float) (Math.sin(theta0 - thetaT) / sinTheta0);
            c1 = (float) (Math.sin(thetaT) / sinTheta0);
        }
        for (int i = 0; i < out.length; i++) {
            out[i] = c0 * v0[i] + c1 * v1[i];
        }
        return out;
    }
}
