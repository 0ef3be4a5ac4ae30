package dev.safemerge.safeguard;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.safemerge.eval.Json;
import dev.safemerge.tensor.Progress;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A safeguard run in a child JVM killed with SIGKILL once its first merge is on disk (while that merge's answers are
 * being generated), then run again: no finished merge is merged again, no answer is generated twice, and the result is
 * the uninterrupted run's.
 */
class SafeguardKillTest {
    @TempDir
    Path tmp;

    @Test
    void aRunKilledWithSigkillResumesWithoutMergingOrGeneratingTwice() throws Exception {
        Fixture.base(tmp);
        Fixture.adapter(tmp, "adapter", 7);
        SafeguardPlan plan = KillWorker.plan(tmp);
        Path reference = tmp.resolve("reference");
        SafeguardRunner.run(plan, reference, SafeguardRunner.Events.NONE, Progress.SILENT, SafeguardRunnerTest.QUIET);

        Path out = tmp.resolve("run");
        String java = ProcessHandle.current().info().command().orElse("java");
        Process child = new ProcessBuilder(
                        java,
                        "--add-modules",
                        "jdk.incubator.vector",
                        "--enable-native-access=ALL-UNNAMED",
                        "-Xmx512m",
                        "-cp",
                        System.getProperty("java.class.path"),
                        KillWorker.class.getName(),
                        tmp.toString(),
                        out.toString())
                .redirectErrorStream(true)
                .redirectOutput(tmp.resolve("child.log").toFile())
                .start();
        // The signal: the child says it holds with the first merge complete and the first of its answers cached; it
        // waits there, so the kill lands at that point however slowly this test notices.
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
        while (!log().lines().toList().contains(KillWorker.HOLDING)) {
            assertThat(child.isAlive())
                    .as("child still running; its log: %s", log())
                    .isTrue();
            assertThat(System.nanoTime())
                    .as("the child reached its hold in time")
                    .isLessThan(deadline);
            Thread.sleep(20);
        }
        child.destroyForcibly(); // SIGKILL: no shutdown hook, no flush
        assertThat(child.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(out.resolve("summary.json")).doesNotExist();
        assertThat(out.resolve("eval/slerp-0.70/result.json")).doesNotExist();
        List<String> mergedBeforeKill = new ArrayList<>();
        for (String variant : List.of("slerp-0.30", "slerp-0.70")) {
            if (Files.isDirectory(out.resolve("models").resolve(variant))
                    || Files.isRegularFile(out.resolve("eval").resolve(variant).resolve("result.json"))) {
                mergedBeforeKill.add(variant);
            }
        }
        assertThat(mergedBeforeKill).containsExactly(KillWorker.FIRST_MERGE);
        int answersBeforeKill = completeRecords(out);
        assertThat(answersBeforeKill).isPositive();

        List<String> mergedOnRerun = new ArrayList<>();
        SafeguardRunner.run(
                plan,
                out,
                new SafeguardRunner.Events() {
                    @Override
                    public void merged(String variant) {
                        mergedOnRerun.add(variant);
                    }
                },
                Progress.SILENT,
                SafeguardRunnerTest.QUIET);
        // every merge once over both runs
        assertThat(mergedOnRerun).doesNotContainAnyElementsOf(mergedBeforeKill);
        List<String> all = new ArrayList<>(mergedBeforeKill);
        all.addAll(mergedOnRerun);
        assertThat(all).containsExactlyInAnyOrder("slerp-0.30", "slerp-0.70");
        // every answer once: as many complete cache records as the uninterrupted run has
        assertThat(completeRecords(out)).isEqualTo(completeRecords(reference)).isGreaterThan(answersBeforeKill);
        JsonNode resumed = Json.MAPPER.readTree(out.resolve("summary.json").toFile());
        JsonNode expected =
                Json.MAPPER.readTree(reference.resolve("summary.json").toFile());
        assertThat(resumed.path("selected")).isEqualTo(expected.path("selected"));
        assertThat(resumed.path("variants")).hasSize(4);
        for (int i = 0; i < 4; i++) {
            JsonNode r = resumed.path("variants").get(i);
            JsonNode e = expected.path("variants").get(i);
            assertThat(r.path("name")).isEqualTo(e.path("name"));
            assertThat(r.path("asr_by_set")).isEqualTo(e.path("asr_by_set"));
            assertThat(r.path("over_refusal")).isEqualTo(e.path("over_refusal"));
            assertThat(r.path("task_by_set")).isEqualTo(e.path("task_by_set"));
        }
    }

    /** Complete records of the generation cache (a record torn by the kill is not one). */
    private static int completeRecords(Path run) throws IOException {
        int n = 0;
        for (String line : Files.readAllLines(run.resolve("generation-cache.jsonl"))) {
            if (line.endsWith("}")) {
                n++;
            }
        }
        return n;
    }

    private String log() throws IOException {
        Path file = tmp.resolve("child.log");
        return Files.exists(file) ? Files.readString(file) : "";
    }
}
