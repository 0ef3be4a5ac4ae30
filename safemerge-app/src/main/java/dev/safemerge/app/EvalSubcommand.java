package dev.safemerge.app;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.safemerge.eval.run.Protocol;
import dev.safemerge.registry.Evaluation;
import dev.safemerge.tensor.BadInputException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * What {@code eval safety} and {@code eval task} share: the output folder, where the answers come from and how they
 * are generated, the registration of the result, and the steps around their own scoring.
 */
abstract class EvalSubcommand implements Callable<Integer> {
    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Output folder.")
    Path out;

    @Mixin
    GenerationOptions generation;

    @Mixin
    EvalRegistration registration;

    @Option(
            names = "--json",
            description = "Print one JSON document instead of lines: the files written, the summary and the"
                    + " registration (evaluation id and version; null without --register).")
    boolean json;

    @Spec
    CommandSpec spec;

    /** The protocol answers are generated with: the preset, the overrides given, and a registered prompt version. */
    final Protocol protocol() {
        registration.check(generation.source.model);
        return registration.withPrompt(generation);
    }

    /** The first {@code limit} items, or all of them when no --limit is given. */
    static <T> List<T> limited(List<T> items, Integer limit) {
        if (limit == null) {
            return items;
        }
        if (limit < 1) {
            throw new BadInputException("--limit must be at least 1");
        }
        return items.subList(0, Math.min(limit, items.size()));
    }

    /** With --json, prints the one JSON document both commands answer with and returns true; without, false. */
    final boolean printedJson(PrintWriter w, ObjectNode summary, Evaluation recorded) {
        if (json) {
            RegistryOptions.printJson(w, EvalRegistration.document(summary, out, recorded));
        }
        return json;
    }

    /** The closing lines of both commands: the files the evaluation wrote and, when registered, the record. */
    final void printWritten(PrintWriter w, Evaluation recorded) {
        w.println("wrote " + out.resolve("summary.json") + " and " + out.resolve("items.jsonl"));
        if (recorded != null) {
            w.println(EvalRegistration.describe(recorded));
        }
    }
}
