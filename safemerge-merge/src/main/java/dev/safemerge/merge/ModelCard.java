package dev.safemerge.merge;

import dev.safemerge.merge.config.MergeConfig;
import dev.safemerge.merge.config.ModelRef;

/** The README.md of a merged model: method, inputs and parameters, and the config that reproduces it. */
final class ModelCard {
    private ModelCard() {}

    static String text(MergeConfig config, MergePlanner.Plan plan) {
        StringBuilder card = new StringBuilder();
        card.append("---\ntags:\n- merge\n- safemerge\n---\n\n");
        card.append("# Merged model\n\n");
        card.append("Merged with safemerge using the `")
                .append(config.method().name())
                .append("` method.\n\n");
        card.append("## Inputs\n\n");
        for (ModelRef model : config.referencedModels()) {
            card.append("- `").append(model).append('`');
            if (model.equals(config.baseModel())) {
                card.append(" (base model)");
            }
            card.append('\n');
        }
        card.append("\n## Parameters\n\n");
        for (ParameterSpec spec : config.method().parameters()) {
            card.append("- ").append(spec.describe()).append('\n');
        }
        card.append("\nWorking dtype: ")
                .append(
                        config.dtype() == null
                                ? "each tensor's stored dtype"
                                : config.dtype().torchName())
                .append("; output dtype: ")
                .append(
                        config.outDtype() == null
                                ? "the working dtype"
                                : config.outDtype().torchName())
                .append("; ")
                .append(plan.tasks().size())
                .append(" tensors, ")
                .append(plan.outputLayers())
                .append(" layers.\n\n");
        card.append("## Configuration\n\n```yaml\n")
                .append(config.yamlText().strip())
                .append("\n```\n");
        return card.toString();
    }
}
