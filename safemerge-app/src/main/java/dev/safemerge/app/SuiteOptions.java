package dev.safemerge.app;

import java.nio.file.Path;
import picocli.CommandLine.Option;

/** The regression suite a command applies and where evaluations it runs itself are written. */
final class SuiteOptions {
    @Option(names = "--suite", required = true, paramLabel = "SUITE.yml", description = "The regression suite.")
    Path file;

    @Option(
            names = "--work",
            defaultValue = "gate-runs",
            paramLabel = "DIR",
            description = "Where evaluations run now are written (default gate-runs).")
    Path work;

    GateSuite load() {
        return GateSuite.load(file);
    }
}
