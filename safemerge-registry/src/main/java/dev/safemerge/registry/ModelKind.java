package dev.safemerge.registry;

import dev.safemerge.tensor.BadInputException;
import java.util.Arrays;
import java.util.Locale;

/** How a model version was made. */
public enum ModelKind {
    BASE("base"),
    FINE_TUNED("fine-tuned"),
    ADAPTER("adapter"),
    MERGE("merge");

    private final String label;

    ModelKind(String label) {
        this.label = label;
    }

    public String label() {
        return label;
    }

    public static ModelKind parse(String text) {
        for (ModelKind kind : values()) {
            if (kind.label.equals(text.toLowerCase(Locale.ROOT))) {
                return kind;
            }
        }
        throw new BadInputException("kind " + text + ": one of "
                + String.join(
                        ", ", Arrays.stream(values()).map(ModelKind::label).toList()));
    }
}
