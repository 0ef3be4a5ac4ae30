package dev.safemerge.merge.config;

import dev.safemerge.merge.MergeMethod;
import dev.safemerge.tensor.DType;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * A mergekit YAML config after parsing and validation of its shape: either {@code models} or {@code slices} is set
 * (the other is empty).
 *
 * @param dtype working dtype, null to merge in each tensor's stored dtype
 * @param outDtype dtype written, null for the working dtype
 * @param tokenizerSource null or "base"
 */
public record MergeConfig(
        Path file,
        String yamlText,
        MergeMethod method,
        List<Source> models,
        List<Slice> slices,
        ModelRef baseModel,
        Map<String, Setting> parameters,
        DType dtype,
        DType outDtype,
        String tokenizerSource) {

    public MergeConfig {
        models = List.copyOf(models);
        slices = List.copyOf(slices);
        parameters = Map.copyOf(parameters);
    }

    /**
     * A model entry (under {@code models}) or a slice source.
     *
     * @param layerStart first layer of a slice source, -1 for a {@code models} entry
     * @param layerEnd one past the last layer of a slice source
     */
    public record Source(ModelRef model, int layerStart, int layerEnd, Map<String, Setting> parameters) {
        public Source {
            parameters = Map.copyOf(parameters);
        }

        public int layerCount() {
            return layerEnd - layerStart;
        }
    }

    /** @param baseModel the slice's own base model, or null to use the config's */
    public record Slice(List<Source> sources, ModelRef baseModel, Map<String, Setting> parameters) {
        public Slice {
            sources = List.copyOf(sources);
            parameters = Map.copyOf(parameters);
        }
    }

    /** Every distinct model the config reads, in first-mention order. */
    public List<ModelRef> referencedModels() {
        java.util.LinkedHashSet<ModelRef> all = new java.util.LinkedHashSet<>();
        if (baseModel != null) {
            all.add(baseModel);
        }
        for (Source source : models) {
            all.add(source.model());
        }
        for (Slice slice : slices) {
            if (slice.baseModel() != null) {
                all.add(slice.baseModel());
            }
            for (Source source : slice.sources()) {
                all.add(source.model());
            }
        }
        return List.copyOf(all);
    }
}
