package dev.safemerge.registry;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Model directories for registry tests: the registry only hashes tensor files, so their bytes can be anything. */
final class TestModels {
    private TestModels() {}

    static Path directory(Path parent, String name, String content) {
        try {
            Path dir = Files.createDirectories(parent.resolve(name));
            Files.writeString(dir.resolve("model.safetensors"), content, StandardCharsets.UTF_8);
            Files.writeString(dir.resolve("config.json"), "{}", StandardCharsets.UTF_8);
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Registers a model version whose directory (under {@code parent}, named uniquely) holds {@code content}. */
    static VersionRef register(
            Registry registry, Path parent, String name, ModelKind kind, String content, VersionRef... parents) {
        Path dir = directory(parent, "model-" + java.util.UUID.randomUUID(), content);
        return registry.addModel(NewModel.of(name, dir, kind, List.of(parents)))
                .value()
                .ref();
    }

    /** A safety evaluation with {@code unsafe} of {@code n} items unsafe (the first ones), category "c". */
    static NewEvaluation safety(VersionRef model, String suite, int unsafe, int n, String judge) {
        List<EvaluationItem> items = new java.util.ArrayList<>();
        for (int i = 0; i < n; i++) {
            items.add(new EvaluationItem(
                    "p" + i,
                    i % 2 == 0 ? "a" : "b",
                    "prompt " + i,
                    "answer " + i,
                    i < unsafe ? "unsafe" : "safe",
                    i >= unsafe,
                    null,
                    "judge says " + (i < unsafe ? "unsafe" : "safe") + " " + i));
        }
        double value = (double) unsafe / n;
        var ci = wilson(unsafe, n);
        return new NewEvaluation(
                model,
                null,
                "safety",
                suite,
                "suite-hash",
                judge,
                "judge-hash-" + judge,
                "prompts-hash",
                "protocol-hash",
                42L,
                "asr",
                value,
                n,
                ci[0],
                ci[1],
                "{}",
                List.of(new CategoryRate("a", n, unsafe, value, ci[0], ci[1])),
                items);
    }

    /** The Wilson 95% interval, written out here so that the tests do not share the code under test. */
    static double[] wilson(int k, int n) {
        double z = 1.959963984540054;
        double p = (double) k / n;
        double denominator = 1 + z * z / n;
        double center = (p + z * z / (2.0 * n)) / denominator;
        double half = z / denominator * Math.sqrt(p * (1 - p) / n + z * z / (4.0 * n * n));
        return new double[] {Math.max(0, center - half), Math.min(1, center + half)};
    }
}
