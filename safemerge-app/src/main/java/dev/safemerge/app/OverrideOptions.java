package dev.safemerge.app;

import picocli.CommandLine.Option;

/** Moving an alias without a passing gate: the options of {@code registry alias set} and {@code branch promote}. */
final class OverrideOptions {
    @Option(names = "--override", description = "Move without a passing gate (needs --reason).")
    boolean override;

    @Option(names = "--reason", paramLabel = "TEXT", description = "Why the gate is overridden.")
    String reason;
}
