package dev.safemerge.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MainTest {
    record Result(int code, String out, String err) {}

    static Result run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Main.run(
                args,
                new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void versionNamesTheProject() {
        Result result = run("--version");
        assertThat(result.code()).isZero();
        assertThat(result.out()).startsWith("safemerge ");
    }

    @Test
    void versionAndDebugReportTheKernelsInUse(@TempDir Path dir) {
        // the tests run with the Vector API module, so the provider picks the vector twins
        assertThat(run("--version").out())
                .containsPattern(
                        "(?m)^kernels: vector \\(\\d+-bit, \\d+ float lanes(; the machine's vectors are \\d+-bit)?\\)$");
        Result debug = run("inspect", dir.resolve("missing").toString(), "--debug");
        assertThat(debug.err()).startsWith("kernels: vector (");
    }

    @Test
    void unknownOptionIsAUsageErrorWithExitTwo() {
        Result result = run("--no-such-option");
        assertThat(result.code()).isEqualTo(2);
        assertThat(result.err()).contains("--no-such-option");
    }

    @Test
    void missingInputIsBadInputWithOneLineAndNoStackTrace(@TempDir Path dir) {
        Result result = run("inspect", dir.resolve("missing").toString());
        assertThat(result.code()).isEqualTo(2);
        assertThat(result.err().strip().lines()).hasSize(1);
        assertThat(result.err()).contains("missing").doesNotContain("at dev.safemerge");
    }
}
