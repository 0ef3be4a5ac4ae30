package dev.safemerge.merge;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.safemerge.tensor.JsonMappers;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The committed mergekit goldens against the real tools, where they are installed: tools/goldens/mergekit_goldens.py
 * writes the inputs and a few cases into a temporary folder and every file must equal the committed one byte for
 * byte. The cases are linear in float32 and ties in bfloat16, whose kept elements at tied magnitudes follow torch's
 * sort, so a change of torch or mergekit that moves them shows here. The Python environment is the one
 * tools/goldens/README.md describes, found through {@value #PYTHON_VARIABLE} (default {@value #DEFAULT_PYTHON});
 * without torch, transformers, PEFT and mergekit there the test is skipped.
 */
class MergekitLiveGoldenTest {
    static final String PYTHON_VARIABLE = "SAFEMERGE_GOLDENS_PYTHON";
    static final String DEFAULT_PYTHON = "/tmp/goldens-venv/bin/python";
    static final List<String> CASES = List.of("linear", "ties_bf16");
    static final Path SCRIPT = Path.of("../tools/goldens/mergekit_goldens.py");

    @TempDir
    Path dir;

    @Test
    void regeneratedGoldensEqualTheCommittedOnes() throws IOException, InterruptedException {
        String python = System.getenv().getOrDefault(PYTHON_VARIABLE, DEFAULT_PYTHON);
        assumeTrue(
                Files.isExecutable(Path.of(python))
                        && run(List.of(python, "-c", "import torch, transformers, peft, mergekit"), dir) == 0,
                "no Python with torch, transformers, PEFT and mergekit at " + python + " (set " + PYTHON_VARIABLE
                        + "; tools/goldens/README.md sets one up): live comparison with mergekit skipped");
        Path out = dir.resolve("out");
        String mergekit = Path.of(python).resolveSibling("mergekit-yaml").toString();
        int exit = run(
                List.of(python, SCRIPT.toString(), out.toString(), mergekit, "--only", String.join(",", CASES)),
                Path.of("."));
        assertThat(exit)
                .as("mergekit_goldens.py exit status, log in " + dir.resolve("log.txt"))
                .isZero();

        Path committed = MergekitGoldenTest.GOLDENS;
        assertSameFiles(committed.resolve("inputs"), out.resolve("inputs"));
        for (String name : CASES) {
            assertSameFiles(
                    committed.resolve("cases").resolve(name),
                    out.resolve("cases").resolve(name));
        }
    }

    /** Every file under {@code expected} exists under {@code actual} with the same bytes, and no other file. */
    static void assertSameFiles(Path expected, Path actual) throws IOException {
        List<Path> want = relativeFiles(expected);
        assertThat(relativeFiles(actual)).as(actual.toString()).containsExactlyElementsOf(want);
        for (Path file : want) {
            assertThat(comparable(actual.resolve(file)))
                    .as("%s equals the committed file", file)
                    .isEqualTo(comparable(expected.resolve(file)));
        }
    }

    /**
     * The file's bytes, except adapter_config.json, which PEFT writes with the base model's absolute path (the
     * folder the script ran in) and with target_modules from a Python set, in an order that changes with Python's
     * string hash seed: compared as JSON without the path and with the target modules sorted.
     */
    static Object comparable(Path file) throws IOException {
        if (!file.getFileName().toString().equals("adapter_config.json")) {
            return Files.readAllBytes(file);
        }
        ObjectNode config = (ObjectNode) JsonMappers.plain().readTree(file.toFile());
        config.remove("base_model_name_or_path");
        List<String> modules = new ArrayList<>();
        config.get("target_modules").forEach(module -> modules.add(module.asText()));
        ArrayNode sorted = config.putArray("target_modules");
        modules.stream().sorted().forEach(sorted::add);
        return config;
    }

    static List<Path> relativeFiles(Path root) throws IOException {
        try (Stream<Path> files = Files.walk(root)) {
            return files.filter(Files::isRegularFile)
                    .map(root::relativize)
                    .sorted()
                    .toList();
        }
    }

    private int run(List<String> command, Path workingDirectory) throws IOException, InterruptedException {
        Path log = dir.resolve("log.txt");
        Process process = new ProcessBuilder(command)
                .directory(workingDirectory.toFile())
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .start();
        return process.waitFor();
    }
}
