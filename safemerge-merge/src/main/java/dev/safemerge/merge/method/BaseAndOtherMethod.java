package dev.safemerge.merge.method;

import dev.safemerge.merge.DeclaredMethod;
import dev.safemerge.merge.ParameterSpec;
import dev.safemerge.merge.TensorGroup;
import java.util.List;

/**
 * A method that combines the base model with exactly one other model (arcee_fusion, nearswap). Where a tensor has
 * only the base among its inputs, the base is kept as it is.
 */
abstract class BaseAndOtherMethod extends DeclaredMethod {
    BaseAndOtherMethod(String name, List<ParameterSpec> parameters, EmbedSizeRule embedSizes) {
        super(name, parameters, BaseModelRule.REQUIRED, embedSizes);
    }

    @Override
    public final String checkInputs(int others, boolean hasBase) {
        return hasBase && others == 1 ? null : name() + " needs a base_model and exactly one other model";
    }

    @Override
    public final float[] merge(TensorGroup group) {
        float[] base = group.base().values();
        if (group.inputs().size() == 1) {
            return base.clone();
        }
        return merge(base, group.nonBase().getFirst().values(), group);
    }

    /** Merges {@code other} into {@code base}, element counts equal; {@code group} gives precision and parameters. */
    abstract float[] merge(float[] base, float[] other, TensorGroup group);
}
