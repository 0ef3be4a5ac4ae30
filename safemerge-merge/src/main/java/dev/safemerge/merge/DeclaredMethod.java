package dev.safemerge.merge;

import java.util.List;

/**
 * A merge method whose declaration (name, parameters, what it needs of the base model, how it reconciles embedding
 * sizes) is data given once to the constructor; subclasses hold only their input checks and their arithmetic.
 */
public abstract class DeclaredMethod implements MergeMethod {
    private final String name;
    private final List<ParameterSpec> parameters;
    private final BaseModelRule baseModel;
    private final EmbedSizeRule embedSizes;

    protected DeclaredMethod(
            String name, List<ParameterSpec> parameters, BaseModelRule baseModel, EmbedSizeRule embedSizes) {
        this.name = name;
        this.parameters = List.copyOf(parameters);
        this.baseModel = baseModel;
        this.embedSizes = embedSizes;
    }

    @Override
    public final String name() {
        return name;
    }

    @Override
    public final List<ParameterSpec> parameters() {
        return parameters;
    }

    @Override
    public final BaseModelRule baseModel() {
        return baseModel;
    }

    @Override
    public final EmbedSizeRule embedSizes() {
        return embedSizes;
    }
}
