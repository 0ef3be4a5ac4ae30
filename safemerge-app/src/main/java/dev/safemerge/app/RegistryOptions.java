package dev.safemerge.app;

import com.fasterxml.jackson.databind.JsonNode;
import dev.safemerge.eval.Json;
import dev.safemerge.registry.Registry;
import java.io.PrintWriter;
import picocli.CommandLine.Option;

/** The options every registry-backed command takes: where the registry is, who acts, and JSON output. */
final class RegistryOptions {
    @Option(
            names = "--db",
            paramLabel = "FILE|URL",
            description = "Registry database: a SQLite file or jdbc:postgresql://HOST/DB?user=U"
                    + " (default: registry.db in ~/.safemerge).")
    String db;

    @Option(names = "--actor", paramLabel = "NAME", description = "Who makes the change (default: the OS user).")
    String actor;

    @Option(names = "--json", description = "Print the result as JSON.")
    boolean json;

    Registry open() {
        return Registry.open(db, actor);
    }

    /** Prints {@code value} as pretty JSON. */
    static void printJson(PrintWriter out, Object value) {
        JsonNode node = Json.MAPPER.valueToTree(value);
        out.print(Json.pretty(node));
        out.flush();
    }
}
