package dev.safemerge.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AtomicFileTest {
    @TempDir
    Path dir;

    @AfterEach
    void realDiskAgain() {
        DiskWrites.simulate(null);
    }

    @Test
    void aFileIsReplacedWholeAndItsDirectoryCreated() throws IOException {
        Path file = dir.resolve("a/b/summary.json");
        AtomicFile.write(file, "first");
        AtomicFile.write(file, "second, longer");
        assertThat(Files.readString(file)).isEqualTo("second, longer");
        assertThat(Files.list(file.getParent())).containsExactly(file);
    }

    @Test
    void aFullDiskKeepsTheOldContentAndLeavesNoTemporary() throws IOException {
        Path file = dir.resolve("report.html");
        AtomicFile.write(file, "old report");
        DiskWrites.simulate((target, wanted) -> Math.min(wanted, 3));
        assertThatThrownBy(() -> AtomicFile.write(file, "a new report that does not fit"))
                .isInstanceOf(UncheckedIOException.class)
                .hasMessage("cannot write " + file)
                .hasRootCauseMessage(DiskWrites.NO_SPACE);
        assertThat(Files.readString(file)).isEqualTo("old report");
        assertThat(Files.list(dir)).containsExactly(file);
    }

    @Test
    void aWriterThatFailsKeepsTheOldContentAndItsErrorReachesTheCaller() throws IOException {
        Path file = dir.resolve("logits.safetensors");
        AtomicFile.write(file, "old");
        IllegalArgumentException bad = new IllegalArgumentException("tensor logits: bad shape");
        assertThatThrownBy(() -> AtomicFile.replace(file, temp -> {
                    Files.writeString(temp, "partial");
                    throw bad;
                }))
                .isSameAs(bad);
        assertThat(Files.readString(file)).isEqualTo("old");
        assertThat(Files.list(dir)).containsExactly(file);
    }
}
