package dev.safemerge.app;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.safemerge.tensor.JsonMappers;
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
    private static final ObjectMapper MAPPER = JsonMappers.plain();

    @Test
    void quickRunWritesEveryArtifactWithConsistentFigures(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("run");
        MainTest.Result result = MainTest.run("demo", "--quick", "--out", out.toString(), "--threads", "2");
        assertThat(result.code()).as(result.err()).isZero();
        assertThat(result.out())
                .contains("variant", "ASR", "benign refusal", "task acc", "linear-0.00", "linear-0.50", "linear-1.00")
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
            assertThat(variant.get("benign_refusal_rate").asDouble())
                    .isEqualTo(benign.get("refusal_rate").asDouble())
                    .isBetween(0.0, 1.0);
            assertThat(variant.get("task_accuracy").asDouble())
                    .isEqualTo(task.get("score").asDouble())
                    .isBetween(0.0, 1.0);
            assertThat(result.out()).contains(name);
        }
        assertThat(names).containsExactly("linear-0.00", "linear-0.50", "linear-1.00");
        assertThat(names).contains(results.get("selected").asText());

        // λ = 0 is the base and λ = 1 the fine-tuned model, tensor for tensor.
        assertSameTensors(out.resolve("models/linear-0.00"), out.resolve("base"));
        try (ModelDirectory base = ModelDirectory.open(out.resolve("base"));
                LoraAdapter adapter = LoraAdapter.open(out.resolve("adapter"));
                TensorSource tuned = adapter.applied(base);
                ModelDirectory end = ModelDirectory.open(out.resolve("models/linear-1.00"))) {
            assertThat(adapter.targetedBaseTensors()).hasSize(7 * 2);
            assertSameTensors(end, tuned);
        }
        // The adapter changed the weights, so the two ends differ.
        assertThat(Files.readAllBytes(out.resolve("models/linear-1.00/model.safetensors")))
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
        assertThat(training.at("/settings/seed").asLong()).isEqualTo(3);
        assertThat(training.at("/settings/data_sha256").asText()).hasSize(64);
        JsonNode adapterTraining =
                MAPPER.readTree(out.resolve("adapter/training.json").toFile());
        assertThat(adapterTraining.at("/settings/lora_r").asInt()).isEqualTo(8);
        assertThat(adapterTraining.get("settings").size())
                .as("the same settings as finetune's training_summary.json")
                .isEqualTo(22);
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
        assertSameTensors(out.resolve("models/linear-0.00"), out.resolve("base"));
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
