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
        assertThat(result.err()).doesNotContain("Exception").doesNotContain("\tat ");
        List<String> errors =
                result.err().lines().filter(line -> line.startsWith("error")).toList();
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

    @Test
    void evalWhoseCacheDoesNotFitFailsCleanlyAndResumesOnceSpaceIsBack() throws Exception {
        String longAnswer = "I cannot help with that. ".repeat(800); // 20 kB per answer, 33 prompts: 660 kB
        try (EvalCommandTest.Endpoint model = new EvalCommandTest.Endpoint(body -> longAnswer)) {
            Path out = disk.resolve("eval");
            String[] args = {
                "eval", "safety", "--prompts", "../data/safety/harmful.jsonl", "--endpoint", model.url(),
                "--model-name", "tiny", "--judge", "refusal", "--out", out.toString()
            };
            Path filler = fill(256 << 10);

            MainTest.Result full = MainTest.run(args);
            assertDiskFullError(full, out);
            int firstRequests = model.requests.get();
            try (Stream<Path> entries = Files.list(out)) {
                assertThat(entries.map(p -> p.getFileName().toString()))
                        .as("no summary, no items, no temporaries: only the resumable cache")
                        .containsExactly("generation-cache.jsonl");
            }
            String cache = Files.readString(out.resolve("generation-cache.jsonl"));
            assertThat(cache).as("no torn record is left behind").matches("(?s)(.*\n)?");
            int cached = (int) cache.lines().count();
            assertThat(cached).isPositive().isLessThan(33);

            Files.delete(filler);
            MainTest.Result retry = MainTest.run(args);
            assertThat(retry.code()).as(retry.err()).isZero();
            assertThat(model.requests.get() - firstRequests)
                    .as("answers cached before the disk filled are not asked again")
                    .isEqualTo(33 - cached);
            assertThat(Files.readAllLines(out.resolve("items.jsonl"))).hasSize(33);
        }
    }

    @Test
    void finetuneWhoseModelDoesNotFitFailsCleanlyAndSucceedsOnceSpaceIsBack() throws IOException {
        Path model = TinyChatModel.write(dir.resolve("model"), 5);
        Path data = TinyChatModel.colorData(dir.resolve("colors.jsonl"));
        Path out = disk.resolve("tuned");
        String[] args = {
            "finetune",
            "--model",
            model.toString(),
            "--data",
            data.toString(),
            "--out",
            out.toString(),
            "--full",
            "--max-steps",
            "2",
            "--batch-size",
            "2"
        };
        Path filler = fill(16 << 10);

        MainTest.Result full = MainTest.run(args);
        assertDiskFullError(full, out);
        assertThat(diskEntries()).containsExactly("filler");

        Files.delete(filler);
        MainTest.Result retry = MainTest.run(args);
        assertThat(retry.code()).as(retry.err()).isZero();
        assertThat(out.resolve("config.json")).exists();
    }
}
