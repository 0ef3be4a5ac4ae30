package dev.safemerge.merge.config;

import dev.safemerge.tensor.BadInputException;
import java.nio.file.Path;

/**
 * A model as a config names it: a local directory, or {@code base+adapter} (a base directory with a PEFT LoRA
 * adapter applied, as mergekit writes LoRA references). Relative paths resolve against the config's folder.
 *
 * @param adapter null for a plain model
 */
public record ModelRef(String text, Path path, Path adapter) {
    public static ModelRef parse(String text, Path configFolder, String where) {
        String trimmed = text.strip();
        if (trimmed.isEmpty()) {
            throw new BadInputException(where + ": empty model path");
        }
        int plus = trimmed.indexOf('+');
        String base = plus < 0 ? trimmed : trimmed.substring(0, plus);
        String adapter = plus < 0 ? null : trimmed.substring(plus + 1);
        if (base.isEmpty() || (adapter != null && (adapter.isEmpty() || adapter.contains("+")))) {
            throw new BadInputException(where + ": '" + text + "' must be PATH or BASE_PATH+ADAPTER_PATH");
        }
        return new ModelRef(
                trimmed,
                configFolder.resolve(base).normalize(),
                adapter == null ? null : configFolder.resolve(adapter).normalize());
    }

    public boolean hasAdapter() {
        return adapter != null;
    }

    @Override
    public String toString() {
        return text;
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof ModelRef that && text.equals(that.text);
    }

    @Override
    public int hashCode() {
        return text.hashCode();
    }
}
