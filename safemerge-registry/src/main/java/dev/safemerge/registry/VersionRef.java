package dev.safemerge.registry;

import dev.safemerge.tensor.BadInputException;
import java.util.regex.Pattern;

/** A model or prompt version written {@code NAME:N}. */
public record VersionRef(String name, int version) {
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._/-]{0,127}");

    public VersionRef {
        checkName(name);
        if (version < 1) {
            throw new BadInputException(name + ":" + version + ": versions start at 1");
        }
    }

    /** Parses {@code NAME:N}; the message names the text that failed. */
    public static VersionRef parse(String text) {
        int colon = text.lastIndexOf(':');
        if (colon < 0) {
            throw new BadInputException(text + ": expected NAME:N (a name and a version number)");
        }
        try {
            return new VersionRef(text.substring(0, colon), Integer.parseInt(text.substring(colon + 1)));
        } catch (NumberFormatException e) {
            throw new BadInputException(text + ": expected NAME:N with N a version number", e);
        }
    }

    static String checkName(String name) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new BadInputException(
                    name + ": a name is 1-128 letters, digits, '.', '_', '/', '-', starting with a letter or digit");
        }
        return name;
    }

    @Override
    public String toString() {
        return name + ":" + version;
    }
}
