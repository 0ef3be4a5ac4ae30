package dev.safemerge.bench;

import java.nio.file.Path;

/** Where benchmarks write their checkpoints when no {@code --dir} is given: a folder under the system temp dir. */
final class Scratch {
    private Scratch() {}

    static Path defaultDir(String bench) {
        return Path.of(System.getProperty("java.io.tmpdir"), "safemerge-bench", bench);
    }
}
