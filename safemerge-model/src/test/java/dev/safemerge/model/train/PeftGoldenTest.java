package dev.safemerge.model.train;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.safemerge.model.Model;
import dev.safemerge.model.ModelLoadOptions;
import dev.safemerge.model.ModelSpec;
import dev.safemerge.model.ReferenceForwardTest;
import dev.safemerge.tensor.JsonMappers;
import dev.safemerge.tensor.ModelDirectory;
import dev.safemerge.tensor.SafetensorsFile;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * PEFT 0.21 in both directions and one LoRA training step of torch 2.13 + PEFT (tools/goldens/peft_goldens.py).
 *
 * <p>Logit tolerance as in {@code TransformersGoldenTest}: float32 on both sides from the same weights, 1e-4 of
 * max(1, |logit|). Training: the loss is a mean of float32 log-softmax values, agreeing to 1e-5 relative; each
 * gradient tensor agrees to δ = 1e-4 of its largest element (the backward pass is as deep as the forward). AdamW's
 * first update is lr·g/(|g|+ε) per element, so an element whose gradient is off by δ moves by at most lr·min(2,
 * 2δ/|g|): the bound the updated weights are held to, plus 1e-6 of the weight for float32 rounding.
 */
class PeftGoldenTest {
    static final Path GOLDENS = Path.of("src/test/resources/goldens");
    static final Path PEFT = GOLDENS.resolve("peft");

    @ParameterizedTest
    @CsvSource({
        "lora_llama2, llama2_f32",
        "rslora_patterns_qwen2, qwen2_f32",
        "all_linear_gemma2, gemma2_f32_softcap_window"
    })
    void adaptersMadeByPeftGivePeftsLogits(String adapter, String base) {
        ReferenceForwardTest.Expected expected =
                ReferenceForwardTest.expected(PEFT.resolve("expected").resolve(adapter + ".safetensors"));
        Path model = GOLDENS.resolve("transformers/models").resolve(base);
        ModelLoadOptions options =
                ModelLoadOptions.defaults().withAdapter(PEFT.resolve("adapters").resolve(adapter), false);
        try (Model loaded = Model.load(model, options)) {
            ReferenceForwardTest.assertLogits(loaded.forward(expected.ids()), expected.logits(), 1e-4, adapter);
        }
        float[] baseLogits;
        try (SafetensorsFile file =
                SafetensorsFile.open(PEFT.resolve("expected").resolve(adapter + ".safetensors"))) {
            baseLogits = file.readFloats("base_logits");
        }
        assertThat(maxDifference(expected.logits(), baseLogits))
                .as("the adapter moves the logits well beyond the tolerance")
                .isGreaterThan(1e-2);
    }

    @Test
    void adapterWrittenByTheTrainerLoadsInPeftWithEveryKeyAndGivesTheSameLogits() throws IOException {
        JsonNode peft = JsonMappers.plain()
                .readTree(PEFT.resolve("finetune_adapter_in_peft.json").toFile());
        assertThat(peft.get("missing_lora_keys")).isEmpty();
        assertThat(peft.get("unexpected_keys")).isEmpty();
        assertThat(peft.get("lora_modules").asInt()).isEqualTo(6);
        int[] ids = new int[peft.get("ids").size()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = peft.get("ids").get(i).asInt();
        }
        float[] expected = new float[ids.length * peft.get("logits").get(0).size()];
        int k = 0;
        for (JsonNode row : peft.get("logits")) {
            for (JsonNode value : row) {
                expected[k++] = (float) value.asDouble();
            }
        }
        Path model = Path.of("src/test/resources/reference/models/llama_f32_gqa");
        Path adapter = Path.of("src/test/resources/dev/safemerge/model/train/peft/adapter");
        try (Model loaded = Model.load(model, ModelLoadOptions.defaults().withAdapter(adapter, false))) {
            ReferenceForwardTest.assertLogits(loaded.forward(ids), expected, 1e-4, "trainer's adapter in PEFT");
        }
    }

    static final double LR = 1e-2;
    static final double WEIGHT_DECAY = 0.01;
    static final double MAX_NORM = 1.0;
    static final long TOTAL_STEPS = 4;

    @Test
    void loraTrainingStepsMatchTorchAndPeft() {
        Path modelDir = GOLDENS.resolve("transformers/models/llama2_f32");
        Path initial = PEFT.resolve("train_step/initial/adapter_model.safetensors");
        LoraSettings lora = new LoraSettings(4, 8, 0.0, false, Set.of("q_proj", "v_proj"));
        try (ModelDirectory base = ModelDirectory.open(modelDir);
                SafetensorsFile start = SafetensorsFile.open(initial);
                SafetensorsFile expected = SafetensorsFile.open(PEFT.resolve("train_step/expected.safetensors"))) {
            TrainableModel model =
                    TrainableModel.withLora(ModelSpec.read(modelDir), new CheckpointWeights(base), lora, 0);
            assertThat(model.parameters()).hasSize(start.tensorNames().size());
            for (Parameter parameter : model.parameters()) {
                float[] values = start.readFloats(parameter.name());
                System.arraycopy(values, 0, parameter.values(), 0, values.length);
            }
            List<TrainableModel.Sequence> batch = new ArrayList<>();
            int targets = 0;
            for (int n = 0; expected.contains("batch" + n + ".ids"); n++) {
                int[] labels = ReferenceForwardTest.ints(expected.readFloats("batch" + n + ".labels"));
                batch.add(new TrainableModel.Sequence(
                        ReferenceForwardTest.ints(expected.readFloats("batch" + n + ".ids")), labels));
                for (int label : labels) {
                    targets += label == CrossEntropy.IGNORE ? 0 : 1;
                }
            }
            AdamW adam = new AdamW(model.parameters(), new AdamW.Settings(0.9, 0.999, 1e-8, WEIGHT_DECAY));
            for (int step = 0; expected.contains("step" + step + ".loss"); step++) {
                String prefix = "step" + step + ".";
                for (Parameter parameter : model.parameters()) {
                    parameter.zeroGrad();
                }
                double loss = model.forwardBackward(batch, 1f / targets, 0).sum() / targets;
                assertThat(loss)
                        .as(prefix + "loss")
                        .isCloseTo(expected.readFloats(prefix + "loss")[0], within(1e-5, loss));
                double norm = AdamW.clipGradNorm(model.parameters(), MAX_NORM);
                assertThat(norm)
                        .as(prefix + "grad norm before clipping")
                        .isCloseTo(expected.readFloats(prefix + "grad_norm")[0], within(1e-4, norm));
                double lr = LR * LrSchedule.LINEAR.factor(step, 0, TOTAL_STEPS);
                assertThat(lr).isCloseTo(expected.readFloats(prefix + "lr")[0], within(1e-6, lr));
                double[] gradientError = new double[model.parameters().size()];
                List<float[]> gradients = new ArrayList<>();
                for (int p = 0; p < model.parameters().size(); p++) {
                    Parameter parameter = model.parameters().get(p);
                    float[] torch = expected.readFloats(prefix + "grad." + parameter.name());
                    double bound = 1e-4 * maxAbs(torch);
                    gradientError[p] = bound;
                    assertClose(parameter.grad(), torch, i -> bound, prefix + "grad." + parameter.name());
                    gradients.add(torch);
                }
                adam.step(lr);
                for (int p = 0; p < model.parameters().size(); p++) {
                    Parameter parameter = model.parameters().get(p);
                    float[] torch = expected.readFloats(prefix + "after." + parameter.name());
                    float[] g = gradients.get(p);
                    double delta = gradientError[p];
                    assertClose(
                            parameter.values(),
                            torch,
                            i -> lr * Math.min(2, 2 * delta / Math.abs(g[i])) + 1e-6 * Math.abs(torch[i]),
                            prefix + "after." + parameter.name());
                }
            }
        }
    }

    interface Bound {
        double at(int i);
    }

    static void assertClose(float[] actual, float[] expected, Bound bound, String what) {
        assertThat(actual).as(what + " size").hasSameSizeAs(expected);
        for (int i = 0; i < actual.length; i++) {
            double error = Math.abs(actual[i] - expected[i]);
            if (error > bound.at(i)) {
                throw new AssertionError(
                        what + "[" + i + "]: " + actual[i] + " vs " + expected[i] + " (bound " + bound.at(i) + ")");
            }
        }
    }

    static org.assertj.core.data.Offset<Double> within(double relative, double value) {
        return org.assertj.core.data.Offset.offset(relative * Math.max(1, Math.abs(value)));
    }

    static double maxAbs(float[] values) {
        double max = 0;
        for (float v : values) {
            max = Math.max(max, Math.abs(v));
        }
        return max;
    }

    static double maxDifference(float[] a, float[] b) {
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, Math.abs(a[i] - b[i]));
        }
        return max;
    }
}
