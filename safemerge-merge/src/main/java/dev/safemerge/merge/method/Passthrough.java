package dev.safemerge.merge.method;

import static dev.safemerge.merge.ParameterSpec.Scope.PER_MODEL;

import dev.safemerge.merge.DeclaredMethod;
import dev.safemerge.merge.MergeInput;
import dev.safemerge.merge.ParameterSpec;
import dev.safemerge.merge.TensorGroup;
import dev.safemerge.merge.kernel.Precision;
import java.util.List;

/** Copies its single input, multiplied by the optional per-model {@code scale}; the building block of slices. */
public final class Passthrough extends DeclaredMethod {
    public Passthrough() {
        super(
                "passthrough",
                List.of(ParameterSpec.optional("scale", PER_MODEL)),
                BaseModelRule.PLAIN_INPUT,
                EmbedSizeRule.EXACT);
    }

    @Override
    public String checkInputs(int others, boolean hasBase) {
        return others + (hasBase ? 1 : 0) == 1
                ? null
                : "passthrough takes exactly one model per tensor (use slices with one source each)";
    }

    @Override
    public boolean elementwise() {
        return true;
    }

    @Override
    public float[] merge(TensorGroup group) {
        MergeInput input = group.inputs().getFirst();
        if (!input.params().has("scale")) {
            return input.values().clone();
        }
        Precision p = group.precision();
        float scale = (float) input.params().get("scale");
        float[] x = input.values();
        float[] out = new float[x.length];
        for (int j = 0; j < out.length; j++) {
            out[j] = p.round(x[j] * scale);
        }
        return out;
    }
}
