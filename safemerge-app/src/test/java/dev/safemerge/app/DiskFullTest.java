package dev.safemerge.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Commands writing onto a full file system: a small tmpfs, mostly taken by a filler file. The command must fail
 * with exit 2 and one line naming the path, leave nothing half-written, and succeed once the filler is deleted.
 * Mounting needs root; elsewhere these tests are skipped.
 */
class DiskFullTest {
    private static final long DISK_BYTES = 8L << 20;

    @TempDir
    Path dir;

    private Path disk;
    private boolean mounted;

    @BeforeEach
    void mountSmallDisk() throws IOException, InterruptedException {
        disk = Files.createDirectories(dir.resolve("disk"));
        mounted = exec("mount", "-t", "tmpfs", "-o", "size=" + DISK_BYTES, "tmpfs", disk.toString());
        assumeTrue(mounted, "mounting a tmpfs is not permitted here (needs root)");
    }

    @AfterEach
    void unmount() throws IOException, InterruptedException {
        if (mounted) {
            assertThat(exec("umount", disk.toString())).as("umount " + disk).isTrue();
        }
    }

    private static boolean exec(String... command) throws IOException, InterruptedException {
        Process process;
        try {
            process = new ProcessBuilder(command).redirectErrorStream(true).start();
        } catch (IOException e) {
            return false;
        }
        process.getInputStream().readAllBytes();
        return process.waitFor(60, TimeUnit.SECONDS) && process.exitValue() == 0;
    }

    /** Leaves {@code free} bytes on the disk, in a file the test deletes later to free the space again. */
    private Path fill(long free) throws IOException {
        Path filler = disk.resolve("filler");
        Files.write(filler, new byte[(int) (DISK_BYTES - free)]);
        return filler;
    }

    private List<String> diskEntries() throws IOException {
        try (Stream<Path> entries = Files.list(disk)) {
            return entries.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    private static void assertDiskFullError(MainTest.Result result, Path out) {
        assertThat(result.code()).as(result.err()).isEqualTo(2);
        // progress lines may come first; the failure itself is one line, with no stack trace
        List<String> errors = result.err()
                .lines()
                .filter(line -> !line.matches("^\\w+: .* in .*s$"))
                .toList();
        assertThat(errors).as(result.err()).hasSize(1);
        assertThat(errors.getFirst())
                .startsWith("error: ")
                .contains("no space left on device")
                .contains(out.getParent().toString());
    }

    @Test
    void mergeOntoAFullDiskFailsCleanlyAndSucceedsOnceSpaceIsBack() throws IOException {
        // two 100000 x 4 bfloat16 matrices: about 1.6 MB of output
        MergeCommandTest.tinyModel(dir.resolve("a"), 1f, 100_000);
        MergeCommandTest.tinyModel(dir.resolve("b"), 3f, 100_000);
        Path config = Files.writeString(
                dir.resolve("merge.yml"),
                "merge_method: linear\nmodels: [{model: a, parameters: {weight: 1}}, {model: b, parameters:"
                        + " {weight: 1}}]\n");
        Path out = disk.resolve("merged");
        Path filler = fill(512 << 10);

        MainTest.Result full = MainTest.run("merge", config.toString(), "--out", out.toString());
        assertDiskFullError(full, out);
        assertThat(diskEntries()).containsExactly("filler");

        Files.delete(filler);
        MainTest.Result retry = MainTest.run("merge", config.toString(), "--out", out.toString());
        assertThat(retry.code()).as(retry.err()).isZero();
        assertThat(out.resolve("model.safetensors.index.json").toFile().exists()
                        || out.resolve("model.safetensors").toFile().exists())
                .isTrue();
    }
}
