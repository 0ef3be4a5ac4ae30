package dev.safemerge.app;

import dev.safemerge.registry.PromptVersion;
import dev.safemerge.registry.Registry;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/**
 * The regression suite a command applies, the prompt version its evaluations run with, and where evaluations it runs
 * itself are written.
 */
final class SuiteOptions {
    @Option(names = "--suite", required = true, paramLabel = "SUITE.yml", description = "The regression suite.")
    Path file;

    @Option(
            names = "--work",
            defaultValue = "gate-runs",
            paramLabel = "DIR",
            description = "Where evaluations run now are written (default gate-runs).")
    Path work;

    @Option(
            names = "--prompt-version",
            paramLabel = "NAME:N|NAME@LABEL",
            description = "A registered prompt version: only evaluations run with it count, evaluations run now use it"
                    + " (a system prompt replaces the suite's, a chat-template override renders the conversations), and"
                    + " the gate checks its constraints on this suite.")
    String promptVersion;

    GateSuite load() {
        return GateSuite.load(file);
    }

    /** The --prompt-version, or null. */
    PromptVersion prompt(Registry registry) {
        return promptVersion == null ? null : registry.prompt(promptVersion);
    }
}
