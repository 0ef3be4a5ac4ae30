package dev.safemerge.app;

import dev.safemerge.registry.Registry;
import picocli.CommandLine.Option;

/** Where the registry is and who acts on it: the options of every command that reads or writes the registry. */
final class RegistryLocation {
    @Option(
            names = "--db",
            paramLabel = "FILE|URL",
            description = "Registry: a SQLite file or a jdbc:postgresql:// URL (default: a file in your home folder).")
    String db;

    @Option(names = "--actor", paramLabel = "NAME", description = "Who makes the change (default: the OS user).")
    String actor;

    boolean given() {
        return db != null || actor != null;
    }

    Registry open() {
        return Registry.open(db, actor);
    }
}
