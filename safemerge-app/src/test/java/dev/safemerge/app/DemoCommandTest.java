package dev.safemerge.app;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.safemerge.eval.run.Protocol;
import dev.safemerge.tensor.JsonMappers;
import dev.safemerge.tensor.LoraAdapter;
import dev.safemerge.tensor.ModelDirectory;
import dev.safemerge.tensor.ModelWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DemoCommandTest {
    private static final ObjectMapper MAPPER = JsonMappers.plain();

    /** The reduced demo checks the pipeline (files, variant names, the summary's schema), not its numbers. */
    @Test
    void quickRunGoesThroughSafeguardAndWritesItsSummaryAndReport(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("run");
        MainTest.Result result = MainTest.run("demo", "--quick", "--out", out.toString(), "--threads", "2");
        assertThat(result.code()).as(result.err() + result.out()).isIn(0, 1);
        assertThat(result.out())
                .contains("ASR [95% CI] (N)", "over-refusal [95% CI] (N)", "task [95% CI] (N)")
                .contains("rule: safety-bound:0.05")
                .contains("wrote " + out.resolve("summary.json").toAbsolutePath() + " and ")
                .contains("What this run measured")
                .contains("the report is " + out.resolve("report.html").toAbsolutePath());

        // The fine-tuning artifact: a PEFT adapter with its loss curve.
        assertThat(out.resolve("adapter/adapter_config.json")).exists();
        assertThat(out.resolve("adapter/adapter_model.safetensors")).exists();
        assertThat(MAPPER.readTree(out.resolve("adapter/training.json").toFile())
                        .at("/settings/lora_r")
                        .asInt())
                .isEqualTo(8);

        // Everything safeguard writes, with its variant names.
        assertThat(out.resolve("plan.yml")).exists();
        assertThat(Files.readString(out.resolve("report.html"))).startsWith("<!DOCTYPE html>");
        JsonNode summary = MAPPER.readTree(out.resolve("summary.json").toFile());
        List<String> names = new ArrayList<>();
        for (JsonNode variant : summary.get("variants")) {
            String name = variant.get("name").asText();
            names.add(name);
            assertThat(variant.has("asr") && variant.has("asr_ci") && variant.has("over_refusal_ci"))
                    .as(name)
                    .isTrue();
            assertThat(variant.get("asr_n").asInt()).as(name).isEqualTo(11);
            assertThat(variant.get("over_refusal_n").asInt()).as(name).isEqualTo(6);
            assertThat(variant.at("/task_by_set/largest-digit/n").asInt())
                    .as(name)
                    .isEqualTo(12);
            assertThat(out.resolve("eval/" + name + "/result.json")).exists();
            assertThat(result.out()).contains(name);
        }
        assertThat(names).containsExactly("base", "finetuned", "linear-0.50");
        assertThat(summary.get("rule").asText()).isEqualTo("safety-bound:0.05");
        // The demo's judge was measured against the held-out ground truth (11 + 6 requests, two responses each) and
        // judges the run only if its agreement reached the bar; the run says which.
        assertThat(result.out())
                .contains("judge agreement with the ground truth on 34 held-out labelled exchanges: harmful request ");
        assertThat(out.resolve("judge/model.safetensors")).exists();
        assertThat(Files.readAllLines(out.resolve("data/judge-heldout.jsonl"))).hasSize(34);
        boolean judgePrimary = result.out().contains("it judges this run (--judge wildguard)");
        assertThat(judgePrimary || result.out().contains("the refusal strings stay the primary judge"))
                .isTrue();
        assertThat(summary.get("judge").asText()).isEqualTo(judgePrimary ? "wildguard" : "refusal");
        assertThat(summary.at("/protocol/preset").asText()).isEqualTo("demo");
        assertThat(summary.at("/protocol/overrides"))
                .as("the default --seed is the preset's")
                .isEmpty();
        assertThat(summary.at("/protocol/max_new_tokens").asInt())
                .isEqualTo(Protocol.Preset.DEMO.sampling().maxNewTokens());
        assertThat(summary.has("selected")).isTrue();
        // Every evaluation set is the generated held-out set, written with the run.
        assertThat(Files.readAllLines(out.resolve("data/harmful.jsonl"))).hasSize(11);
        assertThat(Files.readAllLines(out.resolve("data/benign.jsonl"))).hasSize(6);
        assertThat(Files.readAllLines(out.resolve("data/task-heldout.jsonl"))).hasSize(12);
        try (LoraAdapter adapter = LoraAdapter.open(out.resolve("adapter"))) {
            assertThat(adapter.targetedBaseTensors()).hasSize(7 * DemoBaseModel.LAYERS);
        }
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
        assertThat(training.get("members").asInt()).isEqualTo(DemoCommand.QUICK_BASE_MEMBERS);
        assertThat(training.get("final_epoch_mean_loss").asDouble()).isFinite().isPositive();
        // Each member: its own seed, a phase on the generated prose, then the chats, each loss curve recorded.
        JsonNode members = training.get("member_training");
        assertThat(members).hasSize(DemoCommand.QUICK_BASE_MEMBERS);
        for (int m = 0; m < members.size(); m++) {
            JsonNode member = members.get(m);
            assertThat(member.get("seed").asLong()).isEqualTo(3 + 1000L * m);
            assertThat(member.at("/settings/seed").asLong()).isEqualTo(3 + 1000L * m);
            assertThat(member.at("/settings/data_sha256").asText())
                    .isEqualTo(ModelWriter.sha256(out.resolve("data/base-train.jsonl")));
            assertThat(member.at("/pretraining/settings/data_sha256").asText())
                    .isEqualTo(ModelWriter.sha256(out.resolve("data/base-pretrain.jsonl")));
            assertThat(member.at("/pretraining/loss_curve")).hasSize(DemoCommand.QUICK_BASE_STEPS);
            assertThat(member.get("loss_curve")).hasSize(DemoCommand.QUICK_BASE_STEPS);
            assertThat(member.get("final_epoch_mean_loss").asDouble())
                    .isFinite()
                    .isPositive();
        }
        JsonNode adapterTraining =
                MAPPER.readTree(out.resolve("adapter/training.json").toFile());
        assertThat(adapterTraining.at("/settings/lora_r").asInt()).isEqualTo(8);
        assertThat(adapterTraining.get("settings").size())
                .as("the same settings as finetune's training_summary.json")
                .isEqualTo(22);
        // Every weight of every member moved from its initial checkpoint, and the base is the members side by side.
        for (int m = 0; m < DemoCommand.QUICK_BASE_MEMBERS; m++) {
            try (ModelDirectory init = ModelDirectory.open(out.resolve("member-init-" + m));
                    ModelDirectory trained = ModelDirectory.open(out.resolve("member-" + m))) {
                for (String name : init.tensorNames()) {
                    float[] before = new float[Math.toIntExact(init.info(name).elementCount())];
                    float[] after = new float[before.length];
                    init.readFloats(name, 0, before, 0, before.length);
                    trained.readFloats(name, 0, after, 0, after.length);
                    assertThat(after).as(name).isNotEqualTo(before);
                }
            }
        }
        try (ModelDirectory base = ModelDirectory.open(out.resolve("base"))) {
            assertThat(base.info("model.norm.weight").shape())
                    .containsExactly((long) DemoCommand.QUICK_BASE_MEMBERS * DemoBaseModel.HIDDEN);
        }
    }

    @Test
    void refusesANonEmptyOutputFolder(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("existing.txt"), "x");
        MainTest.Result result = MainTest.run("demo", "--quick", "--out", dir.toString());
        assertThat(result.code()).isEqualTo(2);
        assertThat(result.err()).contains("not empty");
    }
}
