package dev.safemerge.app;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.safemerge.eval.Json;
import dev.safemerge.tensor.DiskWrites;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code safeguard} onto a disk that fills up part-way through the sweep, without mounting one: {@link DiskWrites}
 * (where every output byte meets the disk) stores half of one chosen write and then fails it, and every later write,
 * as a full disk does. The disk fills in turn while a merge is written, while answers are cached and while the report
 * is written. Each time the command fails with exit 2 and one line naming the file, everything computed before is on
 * disk whole (no temporary, no torn record, every result readable), and the next run after space is back goes on from
 * there: no answer is generated twice and no finished merge is merged again.
 */
class SafeguardDiskFullTest {
    @TempDir
    Path tmp;

    @AfterEach
    void realDiskAgain() {
        DiskWrites.simulate(null);
    }

    /**
     * Fills up at write number {@code before} (from 0) to a file under {@code root} that {@code where} picks: half of
     * that write fits, nothing after it.
     */
    private static final class FillingDisk implements DiskWrites.Space {
        private final Path root;
        private final Predicate<Path> where;
        private final int before;
        private int seen;
        private boolean full;

        FillingDisk(Path root, Predicate<Path> where, int before) {
            this.root = root;
            this.where = where;
            this.before = before;
        }

        @Override
        public synchronized long fits(Path file, long wanted) {
            if (!file.toAbsolutePath().startsWith(root)) {
                return wanted;
            }
            if (full) {
                return 0;
            }
            if (where.test(file) && seen++ == before) {
                full = true;
                return wanted / 2;
            }
            return wanted;
        }

        synchronized boolean filled() {
            return full;
        }
    }

    @Test
    void aDiskThatFillsDuringAMergeTheCacheOrTheReportLosesNothingAndTheRunResumes() throws Exception {
        Path out = tmp.resolve("run").toAbsolutePath();
        List<String> study = SafeguardCommandTest.smallStudy(SafeguardCommandTest.trainingFile(tmp));
        study.set(study.indexOf("linear"), "linear,slerp");
        study.addAll(List.of("--max-new-tokens", "8", "--out", out.toString()));
        String[] args = study.toArray(String[]::new);

        // 1. while the slerp merge's shard is written (its second write: the first is the header)
        FillingDisk merging = new FillingDisk(
                out,
                file -> file.toString().contains("slerp-0.50")
                        && file.getFileName().toString().endsWith(".safetensors"),
                1);
        DiskWrites.simulate(merging);
        MainTest.Result duringMerge = MainTest.run(args);
        assertThat(merging.filled()).as(duringMerge.err()).isTrue();
        assertDiskFull(duringMerge, "model.safetensors");
        assertThat(lineOf(duringMerge)).contains(out.resolve("models").toString());
        assertIntact(out);
        assertThat(finished(out)).containsExactlyInAnyOrder("base", "finetuned", "linear-0.50");
        assertThat(out.resolve("models")).isEmptyDirectory();
        Set<String> answersBefore = cacheKeys(out);
        assertThat(answersBefore).isNotEmpty();

        // 2. while the slerp variant's answers are cached (its third answer)
        FillingDisk caching =
                new FillingDisk(out, file -> file.getFileName().toString().equals("generation-cache.jsonl"), 2);
        DiskWrites.simulate(caching);
        MainTest.Result duringCache = MainTest.run(args);
        assertThat(caching.filled()).as(duringCache.err()).isTrue();
        assertDiskFull(duringCache, out.resolve("generation-cache.jsonl").toString());
        assertThat(duringCache.out())
                .as("finished variants are read back, not evaluated again")
                .doesNotContain("evaluating base")
                .doesNotContain("evaluating linear")
                .contains("merging slerp-0.50");
        assertIntact(out);
        assertThat(finished(out)).containsExactlyInAnyOrder("base", "finetuned", "linear-0.50");
        assertThat(out.resolve("models/slerp-0.50")).isDirectory();
        Set<String> answersAfterCache = cacheKeys(out);
        assertThat(answersAfterCache).containsAll(answersBefore).hasSize(answersBefore.size() + 2);

        // 3. while the report is written, after every variant and the summary are done
        FillingDisk reporting =
                new FillingDisk(out, file -> file.getFileName().toString().equals(".report.html.tmp"), 0);
        DiskWrites.simulate(reporting);
        MainTest.Result duringReport = MainTest.run(args);
        assertThat(reporting.filled()).as(duringReport.err()).isTrue();
        assertDiskFull(duringReport, out.resolve("report.html").toString());
        assertThat(duringReport.out())
                .as("the finished merge is not merged again")
                .doesNotContain("merging");
        assertIntact(out);
        assertThat(finished(out)).containsExactlyInAnyOrder("base", "finetuned", "linear-0.50", "slerp-0.50");
        assertThat(out.resolve("report.html")).doesNotExist();
        assertThat(Json.MAPPER.readTree(out.resolve("summary.json").toFile()).path("variants"))
                .hasSize(4);
        Set<String> answersAfterReport = cacheKeys(out);

        // 4. space is back: the run finishes from what is on disk
        DiskWrites.simulate(null);
        MainTest.Result resumed = MainTest.run(args);
        assertThat(resumed.code()).as(resumed.err()).isEqualTo(Main.EXIT_OK);
        assertThat(resumed.out()).doesNotContain("merging").doesNotContain("evaluating");
        assertThat(out.resolve("report.html")).isRegularFile();
        assertIntact(out);
        assertThat(cacheKeys(out)).isEqualTo(answersAfterReport);
    }

    private static void assertDiskFull(MainTest.Result result, String named) {
        assertThat(result.code()).as(result.err()).isEqualTo(Main.EXIT_BAD_INPUT);
        assertThat(result.err()).doesNotContain("Exception").doesNotContain("\tat ");
        assertThat(lineOf(result)).contains("no space left on device").contains(named);
    }

    /** The run's one error line. */
    private static String lineOf(MainTest.Result result) {
        List<String> errors =
                result.err().lines().filter(line -> line.startsWith("error")).toList();
        assertThat(errors).as(result.err()).hasSize(1);
        return errors.getFirst();
    }

    /**
     * Nothing half-written under the run: no temporary file or folder, every JSON file and JSONL line complete, every
     * cache record ended by its newline.
     */
    private static void assertIntact(Path out) throws IOException {
        List<Path> files;
        try (Stream<Path> walk = Files.walk(out)) {
            files = walk.toList();
        }
        for (Path file : files) {
            assertThat(file.getFileName().toString())
                    .as("a temporary left behind")
                    .doesNotContain(".tmp");
            String name = file.getFileName().toString();
            if (name.endsWith(".json")) {
                Json.MAPPER.readTree(file.toFile());
            } else if (name.endsWith(".jsonl")) {
                String text = Files.readString(file);
                assertThat(text).as(file + " ends with a complete line").matches("(?s)(.*\n)?");
                for (String line : text.lines().toList()) {
                    Json.MAPPER.readTree(line);
                }
            }
        }
    }

    /** The variants whose result is on disk. */
    private static List<String> finished(Path out) throws IOException {
        List<String> names = new ArrayList<>();
        Path eval = out.resolve("eval");
        if (!Files.isDirectory(eval)) {
            return names;
        }
        try (Stream<Path> variants = Files.list(eval)) {
            for (Path variant : variants.toList()) {
                Path result = variant.resolve("result.json");
                if (Files.isRegularFile(result)) {
                    JsonNode node = Json.MAPPER.readTree(result.toFile());
                    assertThat(node.path("name").asText())
                            .isEqualTo(variant.getFileName().toString());
                    names.add(variant.getFileName().toString());
                }
            }
        }
        return names;
    }

    /** The cache's keys; a key written twice would be an answer generated twice. */
    private static Set<String> cacheKeys(Path out) throws IOException {
        List<String> lines = Files.readAllLines(out.resolve("generation-cache.jsonl"));
        Set<String> keys = new HashSet<>();
        for (String line : lines) {
            assertThat(keys.add(Json.MAPPER.readTree(line).path("key").asText()))
                    .as("answer cached twice: %s", line)
                    .isTrue();
        }
        return keys;
    }
}
