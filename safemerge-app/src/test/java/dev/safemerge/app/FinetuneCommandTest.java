package dev.safemerge.app;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.safemerge.model.Model;
import dev.safemerge.model.ModelLoadOptions;
import dev.safemerge.tensor.JsonMappers;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FinetuneCommandTest {
    private static final String[] ASKED = {"sky", "grass", "snow", "coal", "sun", "blood"};
    private static final String[] ANSWER = {"blue", "green", "white", "black", "yellow", "red"};

    @Test
    void loraRunWritesAPeftAdapterThatTheEngineAppliesAndThatAnswersTheTrainedQuestions(@TempDir Path dir)
            throws IOException {
        Path model = TinyChatModel.write(dir.resolve("model"), 1);
        Path data = TinyChatModel.colorData(dir.resolve("colors.jsonl"));
        Path out = dir.resolve("adapter");
        MainTest.Result result = finetune(
                model,
                data,
                out,
                "--target-modules",
                "all-linear",
                "--lora-r",
                "8",
                "--lora-alpha",
                "16",
                "--lora-dropout",
                "0",
                "--lr",
                "1e-2",
                "--max-steps",
                "80",
                "--batch-size",
                "4",
                "--warmup-steps",
                "2",
                "--json");
        assertThat(result.code()).as(result.err()).isZero();

        assertThat(out.resolve("adapter_config.json")).exists();
        assertThat(out.resolve("adapter_model.safetensors")).exists();
        byte[] png = Files.readAllBytes(out.resolve("loss_curve.png"));
        assertThat(png).startsWith((byte) 0x89, (byte) 'P', (byte) 'N', (byte) 'G');
        JsonNode summary = JsonMappers.plain().readTree(result.out());
        assertThat(summary.get("steps").asInt()).isEqualTo(80);
        assertThat(summary.get("loss_curve")).hasSize(80);
        double first = summary.get("loss_curve").get(0).get("loss").asDouble();
        assertThat(summary.get("final_loss").asDouble()).isLessThan(0.2 * first);
        // Every setting that decides the result, so that the run can be repeated from the summary alone.
        JsonNode settings = summary.get("settings");
        assertThat(settings.get("seed").isIntegralNumber()).isTrue();
        assertThat(settings.get("lora_r").asInt()).isEqualTo(8);
        assertThat(settings.get("lora_alpha").asDouble()).isEqualTo(16);
        assertThat(settings.get("target_modules")).hasSize(7);
        assertThat(settings.get("batch_size").asInt()).isEqualTo(4);
        assertThat(settings.get("warmup_steps").asInt()).isEqualTo(2);
        assertThat(settings.get("schedule").asText()).isIn("linear", "cosine");
        assertThat(settings.get("data_sha256").asText()).hasSize(64);
        assertThat(JsonMappers.plain()
                        .readTree(out.resolve("training_summary.json").toFile())
                        .get("settings"))
                .isEqualTo(settings);
        JsonNode config =
                JsonMappers.plain().readTree(out.resolve("adapter_config.json").toFile());
        assertThat(config.get("peft_type").asText()).isEqualTo("LORA");
        assertThat(config.get("r").asInt()).isEqualTo(8);
        assertThat(config.get("target_modules")).hasSize(7);

        int before = correctAnswers(model, null);
        int after = correctAnswers(model, out);
        assertThat(after).isEqualTo(ASKED.length).isGreaterThan(before);
    }

    /** Runs {@code finetune} of {@code model} on {@code data} into {@code out}, with further options. */
    /** A non-empty --out is refused before training unless --overwrite, which replaces it with the new adapter. */
    @Test
    void aNonEmptyOutputIsRefusedUnlessOverwriteReplacesIt(@TempDir Path dir) throws IOException {
        Path model = TinyChatModel.write(dir.resolve("model"), 1);
        Path data = TinyChatModel.colorData(dir.resolve("colors.jsonl"));
        Path out = Files.createDirectories(dir.resolve("adapter"));
        Files.writeString(out.resolve("old.txt"), "x");
        MainTest.Result refused = finetune(model, data, out, "--max-steps", "1");
        assertThat(refused.code()).isEqualTo(2);
        assertThat(refused.err().strip().lines()).hasSize(1);
        assertThat(refused.err()).contains(out + ": output directory exists and is not empty (pass --overwrite");
        assertThat(out.resolve("old.txt")).hasContent("x");
        MainTest.Result replaced = finetune(model, data, out, "--max-steps", "1", "--overwrite");
        assertThat(replaced.code()).as(replaced.err()).isZero();
        assertThat(out.resolve("old.txt")).doesNotExist();
        assertThat(out.resolve("adapter_model.safetensors")).exists();
        assertThat(out.resolve("training_summary.json")).exists();
    }

    private static MainTest.Result finetune(Path model, Path data, Path out, String... options) {
        List<String> args = new ArrayList<>(
                List.of("finetune", "--model", model.toString(), "--data", data.toString(), "--out", out.toString()));
        args.addAll(List.of(options));
        return MainTest.run(args.toArray(String[]::new));
    }

    /** Greedy next token after "<|user|> what color is the X <|end|> <|assistant|>", through the engine. */
    private static int correctAnswers(Path model, Path adapter) {
        ModelLoadOptions options = ModelLoadOptions.defaults();
        if (adapter != null) {
            options = options.withAdapter(adapter, false);
        }
        int correct = 0;
        try (Model engine = Model.load(model, options)) {
            for (int i = 0; i < ASKED.length; i++) {
                int[] prompt = {
                    TinyChatModel.id("<|user|>"), TinyChatModel.id("what"), TinyChatModel.id("color"),
                    TinyChatModel.id("is"), TinyChatModel.id("the"), TinyChatModel.id(ASKED[i]),
                    TinyChatModel.id("<|end|>"), TinyChatModel.id("<|assistant|>")
                };
                float[][] logits = engine.forward(prompt);
                float[] last = logits[prompt.length - 1];
                int best = 0;
                for (int v = 1; v < last.length; v++) {
                    if (last[v] > last[best]) {
                        best = v;
                    }
                }
                if (best == TinyChatModel.id(ANSWER[i])) {
                    correct++;
                }
            }
        }
        return correct;
    }

    @Test
    void fullFineTuningWritesAModelDirectoryTheEngineLoads(@TempDir Path dir) throws IOException {
        Path model = TinyChatModel.write(dir.resolve("model"), 2);
        Path data = TinyChatModel.colorData(dir.resolve("colors.jsonl"));
        Path out = dir.resolve("tuned");
        MainTest.Result result =
                finetune(model, data, out, "--full", "--lr", "3e-3", "--max-steps", "30", "--batch-size", "8");
        assertThat(result.code()).as(result.err()).isZero();
        assertThat(out.resolve("config.json")).exists();
        assertThat(out.resolve("tokenizer.json")).exists();
        assertThat(out.resolve("training_summary.json")).exists();
        assertThat(correctAnswers(out, null)).isGreaterThanOrEqualTo(ASKED.length - 1);
    }

    @Test
    void badInputIsExitTwoWithTheLineNumber(@TempDir Path dir) throws IOException {
        Path model = TinyChatModel.write(dir.resolve("model"), 3);
        Path data = dir.resolve("bad.jsonl");
        Files.writeString(
                data, "{\"prompt\": \"what\", \"response\": \"blue\"}\n{\"prompt\": 3}\n{\"prompt\": \"x\",\n{}\n");
        MainTest.Result result = finetune(model, data, dir.resolve("o"));
        assertThat(result.code()).isEqualTo(2);
        assertThat(result.err())
                .contains("3 bad lines: ")
                .contains("bad.jsonl:2:")
                .contains("bad.jsonl:3: not valid JSON")
                .contains("bad.jsonl:4:")
                .doesNotContain("REDACTED");
    }

    @Test
    void anExistingCheckpointNeedsResume(@TempDir Path dir) throws IOException {
        Path model = TinyChatModel.write(dir.resolve("model"), 4);
        Path data = TinyChatModel.colorData(dir.resolve("colors.jsonl"));
        Files.createDirectories(dir.resolve("o.checkpoint"));
        MainTest.Result result = finetune(model, data, dir.resolve("o"));
        assertThat(result.code()).isEqualTo(2);
        assertThat(result.err()).contains("--resume");
    }
}
