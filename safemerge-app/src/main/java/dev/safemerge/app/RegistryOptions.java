package dev.safemerge.app;

import com.fasterxml.jackson.databind.JsonNode;
import dev.safemerge.eval.Json;
import dev.safemerge.registry.Registry;
import java.io.PrintWriter;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** The options of the registry commands, compare and gate: where the registry is, who acts, JSON output. */
final class RegistryOptions {
    @Mixin
    RegistryLocation location;

    @Option(names = "--json", description = "Print the result as JSON.")
    boolean json;

    Registry open() {
        return location.open();
    }

    /** Prints {@code value} as pretty JSON. */
    static void printJson(PrintWriter out, Object value) {
        JsonNode node = Json.MAPPER.valueToTree(value);
        out.print(Json.pretty(node));
        out.flush();
    }
}
