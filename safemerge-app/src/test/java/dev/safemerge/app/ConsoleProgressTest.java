package dev.safemerge.app;

import static org.assertj.core.api.Assertions.assertThat;

import dev.safemerge.tensor.Progress;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConsoleProgressTest {
    @Test
    void aPhaseIsOnePlainLineWhenItEnds() {
        StringWriter text = new StringWriter();
        Progress.Factory lines = ConsoleProgress.lines(new PrintWriter(text));
        try (Progress progress = lines.start("finetune", 44, "step")) {
            progress.step(40);
            progress.step(4);
            progress.message("loss 0.9874");
            assertThat(text.toString()).as("nothing before the phase ends").isEmpty();
        }
        assertThat(text.toString())
                .matches("finetune: 44 step in \\d+\\.\\d s( \\(\\d+ step/s\\))?, loss 0\\.9874\\R")
                .doesNotContain("\r");
    }

    @Test
    void stderrRedirectedToAFileGetsLinesNotABar(@TempDir Path dir) throws Exception {
        Path log = Files.writeString(dir.resolve("log"), "");
        Path toFile = Files.createSymbolicLink(dir.resolve("2"), log);
        Path toPipe = Files.createSymbolicLink(dir.resolve("pipe"), Path.of("pipe:[123]"));
        Path toTerminal = Files.createSymbolicLink(dir.resolve("tty"), Path.of("/dev/pts/3"));
        assertThat(ConsoleProgress.isTerminalDevice(toFile)).isFalse();
        assertThat(ConsoleProgress.isTerminalDevice(toPipe)).isFalse();
        assertThat(ConsoleProgress.isTerminalDevice(toTerminal)).isTrue();
    }

    @Test
    void byteAmountsAreScaledToTheirSize() {
        assertThat(ConsoleProgress.amount(0, "B")).isEqualTo("0 B");
        assertThat(ConsoleProgress.amount(944, "B")).isEqualTo("944 B");
        assertThat(ConsoleProgress.amount(472_000, "B")).isEqualTo("472 kB");
        assertThat(ConsoleProgress.amount(1_500_000, "B")).isEqualTo("1.5 MB");
        assertThat(ConsoleProgress.amount(2_470_000_000L, "B")).isEqualTo("2.5 GB");
        assertThat(ConsoleProgress.amount(33, "resp")).isEqualTo("33 resp");
    }

    /** In a log (stderr not a terminal) each phase is one line, and --quiet leaves only results and errors. */
    @Test
    void commandsLogOneLinePerPhaseAndNothingWithQuiet(@TempDir Path dir) throws Exception {
        Path responses = dir.resolve("responses.jsonl");
        Files.writeString(
                responses,
                "{\"prompt\": \"a\", \"response\": \"Sure.\"}\n{\"prompt\": \"b\", \"response\": \"I cannot.\"}\n");
        MainTest.Result logged = MainTest.run(
                "eval",
                "safety",
                "--responses",
                responses.toString(),
                "--out",
                dir.resolve("a").toString());
        assertThat(logged.code()).as(logged.err()).isZero();
        assertThat(logged.err())
                .doesNotContain("\r")
                .containsPattern("(?m)^generate: 2 resp in ")
                .containsPattern("(?m)^judge: 2 item in ");
        MainTest.Result quiet = MainTest.run(
                "eval",
                "safety",
                "--quiet",
                "--responses",
                responses.toString(),
                "--out",
                dir.resolve("b").toString());
        assertThat(quiet.code()).as(quiet.err()).isZero();
        assertThat(quiet.err()).doesNotContain("generate").doesNotContain("judge:");
        assertThat(quiet.out()).contains("safety model=");
    }
}
