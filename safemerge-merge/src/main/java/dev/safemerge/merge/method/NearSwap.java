package dev.safemerge.merge.method;

import static dev.safemerge.merge.ParameterSpec.Scope.GLOBAL;

import dev.safemerge.merge.ParameterSpec;
import dev.safemerge.merge.TensorGroup;
import dev.safemerge.merge.kernel.Precision;
import java.util.List;

/**
 * Takes the other model's value where it is close to the base: {@code w = clamp(t / max(|B - X|, 1e-6), 0, 1)},
 * {@code w·X + (1 - w)·B}, elementwise in the working precision.
 */
public final class NearSwap extends BaseAndOtherMethod {
    public NearSwap() {
        super(
                "nearswap",
                List.of(ParameterSpec.required("t", GLOBAL).within(0, Double.MAX_VALUE)),
                EmbedSizeRule.EXACT);
    }

    @Override
    public boolean elementwise() {
        return true;
    }

    @Override
    float[] merge(float[] base, float[] x, TensorGroup group) {
        Precision p = group.precision();
        float t = (float) group.global().get("t");
        // A Python scalar in clamp is converted to the tensor dtype first; t / tensor is reciprocal() * t.
        float floor = p.round(1e-6f);
        float[] out = new float[base.length];
        for (int j = 0; j < out.length; j++) {
            float distance = Math.max(Math.abs(p.round(base[j] - x[j])), floor);
            float w = Math.clamp(p.round(p.round(1 / distance) * t), 0f, 1f);
            out[j] = p.round(p.round(w * x[j]) + p.round(p.round(1 - w) * base[j]));
        }
        return out;
    }
}
