package dev.safemerge.app;

import dev.safemerge.registry.Registered;
import dev.safemerge.registry.Registry;
import java.io.PrintWriter;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.function.Consumer;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * A subcommand of {@code registry} (and of its {@code prompt} and {@code branch} groups): it takes the registry
 * options, works on the opened registry, and prints its result as JSON with {@code --json}, as text otherwise.
 */
abstract class RegistrySubcommand implements Callable<Integer> {
    @Mixin
    RegistryOptions options;

    @Spec
    CommandSpec spec;

    @Override
    public final Integer call() {
        prepare();
        try (Registry registry = options.open()) {
            return run(registry, spec.commandLine().getOut());
        }
    }

    /** Checks and reads the command's own input before the registry is opened, so bad input touches no registry. */
    void prepare() {}

    /** Does the work on the open registry, printing to {@code out}; returns the exit code. */
    abstract int run(Registry registry, PrintWriter out);

    /** Prints {@code result} as JSON when --json is given, else as {@code text} prints it. */
    final <T> void print(PrintWriter out, T result, Consumer<T> text) {
        if (options.json) {
            RegistryOptions.printJson(out, result);
        } else {
            text.accept(result);
        }
    }

    /**
     * One line of a list of versions (models, prompts): the reference, the kind in a column {@code kindWidth} wide,
     * the content hash cut to its first 19 characters, then {@code rest}.
     */
    static String versionLine(Object ref, String kind, int kindWidth, String contentHash, String rest) {
        return String.format(
                Locale.ROOT, "%-24s %-" + kindWidth + "s %s%s", ref, kind, contentHash.substring(0, 19), rest);
    }

    /** Prints a registration: its JSON, or NAME:N (and on stderr that the same {@code what} was there already). */
    final void printRegistered(PrintWriter out, Registered<?> registered, Object ref, String what) {
        print(out, registered, created -> {
            out.println(ref);
            if (!created.created()) {
                spec.commandLine().getErr().println("already registered: the same " + what + " as " + ref);
            }
        });
    }

    /** Prints {@code items} as one JSON list when --json is given, else each as {@code line} prints it. */
    final <T> void printEach(PrintWriter out, List<T> items, Consumer<T> line) {
        print(out, items, all -> all.forEach(line));
    }
}
