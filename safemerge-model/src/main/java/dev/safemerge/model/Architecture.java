package dev.safemerge.model;

import dev.safemerge.tensor.BadInputException;
import java.util.List;

/** The supported decoder families, named by the HF {@code architectures} entry of config.json. */
public enum Architecture {
    LLAMA("LlamaForCausalLM", "llama"),
    MISTRAL("MistralForCausalLM", "mistral"),
    QWEN2("Qwen2ForCausalLM", "qwen2"),
    GEMMA("GemmaForCausalLM", "gemma"),
    GEMMA2("Gemma2ForCausalLM", "gemma2");

    private final String className;
    private final String modelType;

    Architecture(String className, String modelType) {
        this.className = className;
        this.modelType = modelType;
    }

    public String className() {
        return className;
    }

    public String modelType() {
        return modelType;
    }

    /** Gemma-style: (1+w) norms, embeddings scaled by sqrt(hidden), tanh-GELU, tied, head_dim 256 by default. */
    public boolean gemmaFamily() {
        return this == GEMMA || this == GEMMA2;
    }

    /** Resolves the first entry of {@code architectures}, or {@code model_type} when that list is absent. */
    public static Architecture resolve(List<String> architectures, String modelType, String file) {
        if (architectures != null && !architectures.isEmpty()) {
            String name = architectures.getFirst();
            for (Architecture a : values()) {
                if (a.className.equals(name)) {
                    return a;
                }
            }
            throw new BadInputException(
                    file + ": architectures '" + name + "' is not supported (supported: " + supportedList() + ")");
        }
        if (modelType != null) {
            for (Architecture a : values()) {
                if (a.modelType.equals(modelType)) {
                    return a;
                }
            }
            throw new BadInputException(
                    file + ": model_type '" + modelType + "' is not supported (supported: " + supportedList() + ")");
        }
        throw new BadInputException(file + ": neither 'architectures' nor 'model_type' is given");
    }

    private static String supportedList() {
        StringBuilder names = new StringBuilder();
        for (Architecture a : values()) {
            names.append(names.isEmpty() ? "" : ", ").append(a.className);
        }
        return names.toString();
    }
}
