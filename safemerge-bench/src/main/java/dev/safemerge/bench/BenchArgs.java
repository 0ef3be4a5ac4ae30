package dev.safemerge.bench;

import java.nio.file.Path;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * A benchmark's command line: {@code --name VALUE} options, each with its default, and {@code --name} flags. An
 * unknown name or a missing value is refused naming it.
 */
final class BenchArgs {
    private final Map<String, String> values;
    private final Set<String> flagsGiven;

    private BenchArgs(Map<String, String> values, Set<String> flagsGiven) {
        this.values = values;
        this.flagsGiven = flagsGiven;
    }

    /** Reads {@code args} over {@code defaults} (option name to default value); {@code flags} take no value. */
    static BenchArgs parse(String[] args, Map<String, Object> defaults, Set<String> flags) {
        Map<String, String> values = new LinkedHashMap<>();
        defaults.forEach((name, value) -> values.put(name, String.valueOf(value)));
        Set<String> given = new HashSet<>();
        for (int i = 0; i < args.length; i++) {
            String name = args[i];
            if (flags.contains(name)) {
                given.add(name);
            } else if (values.containsKey(name)) {
                if (i + 1 == args.length) {
                    throw new IllegalArgumentException(name + " needs a value");
                }
                values.put(name, args[++i]);
            } else {
                throw new IllegalArgumentException("unknown argument " + name);
            }
        }
        return new BenchArgs(values, given);
    }

    int integer(String name) {
        return Integer.parseInt(value(name));
    }

    double decimal(String name) {
        return Double.parseDouble(value(name));
    }

    String text(String name) {
        return value(name);
    }

    Path path(String name) {
        return Path.of(value(name));
    }

    boolean flag(String name) {
        return flagsGiven.contains(name);
    }

    private String value(String name) {
        String value = values.get(name);
        if (value == null) {
            throw new IllegalStateException(name + " is not an option of this benchmark");
        }
        return value;
    }
}
