package dev.safemerge.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Options that cannot work are exit 2 with one line naming the option, before any model is read. */
class UsageErrorsTest {
    static void assertUsageError(MainTest.Result result, String... mentions) {
        assertThat(result.code()).isEqualTo(2);
        assertThat(result.err().strip().lines()).hasSize(1);
        assertThat(result.err()).contains(mentions);
    }

    @Test
    void uiRefusesOptionsThatCannotWorkBeforeOpeningTheRegistry(@TempDir Path dir) {
        String db = dir.resolve("registry.db").toString();
        assertUsageError(MainTest.run("ui", "--db", db, "--port", "-1"), "--port -1");
        assertUsageError(MainTest.run("ui", "--db", db, "--public-read"), "--public-read needs --api-key");
        assertUsageError(MainTest.run("ui", "--db", db, "--api-key", " "), "--api-key is empty");
        assertThat(Path.of(db)).doesNotExist();
    }

    @Test
    void threadsFollowOneRuleInEveryCommand(@TempDir Path dir) throws Exception {
        Path model = Files.createDirectories(dir.resolve("model"));
        Path data = Files.writeString(dir.resolve("data.jsonl"), "");
        String out = dir.resolve("logits.safetensors").toString();
        for (String threads : new String[] {"0", "100000"}) {
            assertUsageError(
                    MainTest.run(
                            "forward", "--model", model.toString(), "--ids", "1", "--out", out, "--threads", threads),
                    "--threads",
                    threads);
            assertUsageError(
                    MainTest.run(
                            "finetune",
                            "--model",
                            model.toString(),
                            "--data",
                            data.toString(),
                            "--out",
                            dir.resolve("tuned").toString(),
                            "--threads",
                            threads),
                    "--threads",
                    threads);
            assertUsageError(
                    MainTest.run(
                            "merge",
                            dir.resolve("missing.yml").toString(),
                            "--out",
                            dir.resolve("merged").toString(),
                            "--threads",
                            threads),
                    "--threads",
                    threads);
        }
    }

    /** eval generates in-process and demo merges and generates: the same rule, checked before anything is written. */
    @Test
    void threadsFollowTheSameRuleInEvalAndDemo(@TempDir Path dir) throws Exception {
        Path model = TinyModel.write(dir.resolve("tiny"), 3);
        Path prompts = Files.writeString(dir.resolve("prompts.jsonl"), "{\"prompt\": \"hello\"}\n");
        Path task = Files.writeString(dir.resolve("task.jsonl"), "{\"question\": \"1+1?\", \"answer\": \"2\"}\n");
        for (String threads : new String[] {"0", "100000"}) {
            Path out = dir.resolve("out-" + threads);
            assertUsageError(
                    MainTest.run(
                            "eval",
                            "safety",
                            "--model",
                            model.toString(),
                            "--prompts",
                            prompts.toString(),
                            "--out",
                            out.toString(),
                            "--threads",
                            threads),
                    "--threads",
                    threads);
            assertUsageError(
                    MainTest.run(
                            "eval",
                            "task",
                            "--task",
                            task.toString(),
                            "--metric",
                            "exact",
                            "--model",
                            model.toString(),
                            "--out",
                            out.toString(),
                            "--threads",
                            threads),
                    "--threads",
                    threads);
            assertUsageError(
                    MainTest.run("demo", "--quick", "--out", out.toString(), "--threads", threads),
                    "--threads",
                    threads);
            assertThat(out).doesNotExist();
        }
    }

    @Test
    void forwardOutNamingADirectoryIsAUsageError(@TempDir Path dir) throws Exception {
        Path model = Files.createDirectories(dir.resolve("model"));
        assertUsageError(
                MainTest.run("forward", "--model", model.toString(), "--ids", "1", "--out", dir.toString()),
                "--out",
                "is a directory");
    }
}
