package dev.safemerge.app;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.safemerge.tensor.LoraAdapter;
import dev.safemerge.tensor.ModelDirectory;
import dev.safemerge.tensor.ModelWriter;
import dev.safemerge.tensor.TensorSource;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DemoCommandTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    @Test
    void quickRunWritesEveryArtifactWithConsistentFigures(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("run");
        MainTest.Result result = MainTest.run("demo", "--quick", "--out", out.toString(), "--threads", "2");
        assertThat(result.code()).as(result.err()).isZero();
        assertThat(result.out())
                .contains("variant", "ASR", "over-refusal", "task acc", "base", "finetuned", "linear-0.50")
                .contains("selected: ")
                .contains("not safety claims about real models");

        // The fine-tuning artifact: a PEFT adapter.
        assertThat(out.resolve("adapter/adapter_config.json")).exists();
        assertThat(out.resolve("adapter/adapter_model.safetensors")).exists();

        JsonNode results = MAPPER.readTree(out.resolve("results.json").toFile());
        List<String> names = new ArrayList<>();
        for (JsonNode variant : results.get("variants")) {
            String name = variant.get("name").asText();
            names.add(name);
            Path model = out.resolve(variant.get("model").asText());
            assertThat(model.resolve("SHA256SUMS")).exists();
            assertThat(model.resolve("config.json")).exists();
            assertThat(out.resolve("merges/" + name + ".yml")).exists();
            for (String kind : List.of("safety", "benign", "task")) {
                Path summary = out.resolve("eval/" + name + "/" + kind + "/summary.json");
                assertThat(summary).exists();
                assertThat(out.resolve("eval/" + name + "/" + kind + "/items.jsonl"))
                        .exists();
            }
            JsonNode safety = MAPPER.readTree(
                    out.resolve("eval/" + name + "/safety/summary.json").toFile());
            JsonNode benign = MAPPER.readTree(
                    out.resolve("eval/" + name + "/benign/summary.json").toFile());
            JsonNode task = MAPPER.readTree(
                    out.resolve("eval/" + name + "/task/summary.json").toFile());
            assertThat(safety.get("total").asInt()).isEqualTo(11);
            assertThat(benign.get("total").asInt()).isEqualTo(6);
            assertThat(task.get("n").asInt()).isEqualTo(12);
            // The table's figures are the evaluation summaries' figures.
            assertThat(variant.get("asr").asDouble())
                    .isEqualTo(safety.get("asr").asDouble())
                    .isEqualTo((double) safety.get("unsafe").asInt() / 11)
                    .isBetween(0.0, 1.0);
            assertThat(variant.get("asr_n").asInt()).isEqualTo(11);
            assertThat(variant.get("asr_ci95").get("low").asDouble())
                    .isEqualTo(safety.get("asr_ci95").get("low").asDouble());
            assertThat(variant.get("asr_ci95").get("high").asDouble())
                    .isEqualTo(safety.get("asr_ci95").get("high").asDouble());
            assertThat(variant.get("benign_refusal_rate").asDouble())
                    .isEqualTo(benign.get("refusal_rate").asDouble())
                    .isBetween(0.0, 1.0);
            assertThat(variant.get("task_accuracy").asDouble())
                    .isEqualTo(task.get("score").asDouble())
                    .isBetween(0.0, 1.0);
            assertThat(variant.get("task_accuracy_n").asInt()).isEqualTo(12);
            assertThat(result.out()).contains(name);
        }
        assertThat(names).containsExactly("base", "finetuned", "linear-0.50");
        // The base is within its own bound, so the rule always selects a variant.
        assertThat(names).contains(results.get("selected").asText());
        assertThat(results.get("protocol").asText()).isEqualTo(DemoCommand.PROTOCOL_NAME);
        // Every evaluation set is the generated held-out set, written with the run.
        assertThat(Files.readAllLines(out.resolve("data/harmful.jsonl"))).hasSize(11);
        assertThat(Files.readAllLines(out.resolve("data/benign.jsonl"))).hasSize(6);
        assertThat(Files.readAllLines(out.resolve("data/task-heldout.jsonl"))).hasSize(12);

        // λ = 0 is the base and λ = 1 the fine-tuned model, tensor for tensor.
        assertSameTensors(out.resolve("models/base"), out.resolve("base"));
        try (ModelDirectory base = ModelDirectory.open(out.resolve("base"));
                LoraAdapter adapter = LoraAdapter.open(out.resolve("adapter"));
                TensorSource tuned = adapter.applied(base);
                ModelDirectory end = ModelDirectory.open(out.resolve("models/finetuned"))) {
            assertThat(adapter.targetedBaseTensors()).hasSize(7 * DemoBaseModel.LAYERS);
            assertSameTensors(end, tuned);
        }
        // The adapter changed the weights, so the two ends differ.
        assertThat(Files.readAllBytes(out.resolve("models/finetuned/model.safetensors")))
                .isNotEqualTo(Files.readAllBytes(out.resolve("base/model.safetensors")));
        // Every checksum in the merged directory matches its file.
        for (String line : Files.readAllLines(out.resolve("models/linear-0.50/SHA256SUMS"))) {
            String[] parts = line.split("\\s+\\*?", 2);
            assertThat(ModelWriter.sha256(out.resolve("models/linear-0.50").resolve(parts[1])))
                    .as(line)
                    .isEqualTo(parts[0]);
        }
        assertThat(Files.readString(out.resolve("results.md"))).contains("linear-0.50");
    }

    @Test
    void retrainsTheBaseFromRandomWeightsWithFullFineTuning(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("run");
        MainTest.Result result = MainTest.run(
                "demo", "--quick", "--retrain-base", "--base-seed", "3", "--out", out.toString(), "--threads", "2");
        assertThat(result.code()).as(result.err()).isZero();
        assertThat(result.out()).contains("base trained: last-epoch loss");
        JsonNode training = MAPPER.readTree(out.resolve("base/training.json").toFile());
        assertThat(training.get("seed").asLong()).isEqualTo(3);
        assertThat(training.get("reproduce").asText()).isEqualTo("./safemerge demo --retrain-base --base-seed 3");
        // One quick epoch from the initial checkpoint: every weight moved, and the loss is finite.
        assertThat(training.get("final_epoch_mean_loss").asDouble()).isFinite().isPositive();
        assertThat(out.resolve("data/base-train.jsonl")).exists();
        try (ModelDirectory init = ModelDirectory.open(out.resolve("base-init"));
                ModelDirectory trained = ModelDirectory.open(out.resolve("base"))) {
            for (String name : init.tensorNames()) {
                float[] before = new float[Math.toIntExact(init.info(name).elementCount())];
                float[] after = new float[before.length];
                init.readFloats(name, 0, before, 0, before.length);
                trained.readFloats(name, 0, after, 0, after.length);
                assertThat(after).as(name).isNotEqualTo(before);
            }
        }
        assertSameTensors(out.resolve("models/base"), out.resolve("base"));
    }

    @Test
    void refusesANonEmptyOutputFolder(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("existing.txt"), "x");
        MainTest.Result result = MainTest.run("demo", "--quick", "--out", dir.toString());
        assertThat(result.code()).isEqualTo(2);
        assertThat(result.err()).contains("not empty");
    }

    private static void assertSameTensors(Path a, Path b) {
        try (ModelDirectory left = ModelDirectory.open(a);
                ModelDirectory right = ModelDirectory.open(b)) {
            assertSameTensors(left, right);
        }
    }

    private static void assertSameTensors(TensorSource left, TensorSource right) {
        assertThat(left.tensorNames()).isEqualTo(right.tensorNames());
        for (String name : left.tensorNames()) {
            float[] x = new float[Math.toIntExact(left.info(name).elementCount())];
            float[] y = new float[x.length];
            left.readFloats(name, 0, x, 0, x.length);
            right.readFloats(name, 0, y, 0, y.length);
            assertThat(x).as(name).containsExactly(y);
        }
    }
}
