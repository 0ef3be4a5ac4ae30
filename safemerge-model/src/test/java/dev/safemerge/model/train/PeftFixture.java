package dev.safemerge.model.train;

import dev.safemerge.model.ModelSpec;
import dev.safemerge.tensor.ModelDirectory;
import dev.safemerge.tensor.Progress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Regenerates the adapter fixture that src/test/python/peft_lora_check.py applies independently: a short LoRA run
 * (rsLoRA, q/v/down projections) on the engine's tiny reference Llama. Run from the repository root with the test
 * classpath: {@code java -cp ... dev.safemerge.model.train.PeftFixture}, then run the python script.
 */
final class PeftFixture {
    private PeftFixture() {}

    static final Path MODEL = Path.of("safemerge-model/src/test/resources/reference/models/llama_f32_gqa");
    static final Path ADAPTER = Path.of("safemerge-model/src/test/resources/dev/safemerge/model/train/peft/adapter");
    static final LoraSettings LORA = new LoraSettings(4, 8, 0.0, true, Set.of("q_proj", "v_proj", "down_proj"));

    public static void main(String[] args) {
        try (ModelDirectory base = ModelDirectory.open(MODEL)) {
            TrainableModel model =
                    TrainableModel.withLora(ModelSpec.read(MODEL), new CheckpointWeights(base), LORA, 11);
            List<SftData.Example> data = new ArrayList<>();
            for (int p = 10; p < 20; p++) {
                int ig = CrossEntropy.IGNORE;
                data.add(new SftData.Example(
                        p, new int[] {1, p, 3, 2 * p, 3 * p, 2}, new int[] {ig, ig, 2 * p, 3 * p, 2, ig}));
            }
            TrainingOptions options =
                    new TrainingOptions(1, 20, 5, 1, 1e-2, LrSchedule.COSINE, 2, 1.0, AdamW.Settings.DEFAULTS, 5, 0);
            new Trainer(model, options, data, List.of()).run(null, (s, o) -> {}, Progress.SILENT);
            FineTuneExport.writeAdapter(ADAPTER, model, LORA, "llama_f32_gqa", Map.of(), Map.of());
        }
    }
}
