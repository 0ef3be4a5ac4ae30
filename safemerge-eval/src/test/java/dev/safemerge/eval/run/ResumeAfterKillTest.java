package dev.safemerge.eval.run;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.safemerge.eval.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ResumeAfterKillTest {
    private static final int PROMPTS = 20;
    private static final int ANSWERED_BEFORE_KILL = 5;

    @Test
    void aRunKilledWithSigkillResumesWithoutGeneratingAnythingTwice(@TempDir Path out) throws Exception {
        String java = ProcessHandle.current().info().command().orElse("java");
        Process worker = new ProcessBuilder(
                        java,
                        "-Xmx128m",
                        "-cp",
                        System.getProperty("java.class.path"),
                        ResumeWorker.class.getName(),
                        Integer.toString(PROMPTS),
                        out.toString(),
                        Integer.toString(ANSWERED_BEFORE_KILL))
                .redirectErrorStream(true)
                .redirectOutput(out.resolve("worker.log").toFile())
                .start();
        Path cacheFile = out.resolve("generation-cache.jsonl");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        // The worker stops after ANSWERED_BEFORE_KILL answers and waits there; polling only notices that it got there.
        while (lines(cacheFile) < ANSWERED_BEFORE_KILL) {
            assertThat(worker.isAlive()).as("worker still running").isTrue();
            assertThat(System.nanoTime()).as("worker made progress in time").isLessThan(deadline);
            Thread.sleep(20);
        }
        worker.destroyForcibly(); // SIGKILL: no shutdown hooks, no flushing
        assertThat(worker.waitFor(10, TimeUnit.SECONDS)).isTrue();
        assertThat(out.resolve("summary.json")).doesNotExist();

        Set<String> doneBeforeKill = new HashSet<>();
        for (String line : Files.readAllLines(cacheFile)) {
            if (line.endsWith("}")) {
                JsonNode record = Json.MAPPER.readTree(line);
                doneBeforeKill.add(record.at("/request/messages/1/content").asText());
            }
        }
        assertThat(doneBeforeKill).hasSize(ANSWERED_BEFORE_KILL);

        ResumeWorker.StoppingGenerator rerun = new ResumeWorker.StoppingGenerator(Integer.MAX_VALUE);
        ResumeWorker.evaluate(PROMPTS, out, rerun);
        assertThat(rerun.generated).hasSize(PROMPTS - doneBeforeKill.size());
        assertThat(rerun.generated).doesNotContainAnyElementsOf(doneBeforeKill);
        Set<String> all = new HashSet<>(doneBeforeKill);
        all.addAll(rerun.generated);
        assertThat(all).hasSize(PROMPTS);

        JsonNode summary = Json.MAPPER.readTree(out.resolve("summary.json").toFile());
        assertThat(summary.get("total").asInt()).isEqualTo(PROMPTS);
        List<String> items = Files.readAllLines(out.resolve("items.jsonl"));
        assertThat(items).hasSize(PROMPTS);
        assertThat(Json.MAPPER.readTree(items.get(7)).get("response").asText()).isEqualTo("answer to prompt number 7");

        ResumeWorker.StoppingGenerator third = new ResumeWorker.StoppingGenerator(Integer.MAX_VALUE);
        ResumeWorker.evaluate(PROMPTS, out, third);
        assertThat(third.generated).isEmpty();
    }

    private static long lines(Path file) throws Exception {
        if (!Files.exists(file)) {
            return 0;
        }
        return Files.readAllLines(file).size();
    }
}
