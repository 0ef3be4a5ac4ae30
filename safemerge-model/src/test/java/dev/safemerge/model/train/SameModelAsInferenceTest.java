package dev.safemerge.model.train;

import static org.assertj.core.api.Assertions.assertThat;

import dev.safemerge.model.Model;
import dev.safemerge.model.ModelLoadOptions;
import dev.safemerge.model.ModelSpec;
import dev.safemerge.model.train.TinyModels.Arch;
import dev.safemerge.tensor.DType;
import dev.safemerge.tensor.ModelDirectory;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Set;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The training forward pass is the inference engine's model: on the same checkpoint directory, read through the
 * same ModelSpec, both give the same logits. They share every op; they differ only in how matrix products are
 * summed (the engine's matvec kernels vs. the training GEMM), so agreement is to float32 rounding (1e-5 relative to
 * the logit scale), not bit for bit.
 */
class SameModelAsInferenceTest {
    private static final int[] IDS = {1, 7, 22, 5, 5, 31, 2, 18, 9};

    @ParameterizedTest
    @CsvSource({"LLAMA, F32", "QWEN2, BF16", "MISTRAL, F32", "GEMMA, BF16", "GEMMA2, F32", "GEMMA2, F16"})
    void trainingLogitsEqualEngineLogits(Arch arch, DType dtype, @TempDir Path dir) throws IOException {
        TinyModels.Tiny tiny = TinyModels.create(arch, 40 + arch.ordinal(), 40, 32, 48, 3, dtype);
        Path modelDir = tiny.writeTo(dir.resolve("model"));
        float[][] engine;
        try (Model model = Model.load(modelDir, ModelLoadOptions.defaults())) {
            engine = model.forward(IDS);
        }
        float[] training;
        try (ModelDirectory checkpoint = ModelDirectory.open(modelDir)) {
            TrainableModel model = TrainableModel.withLora(
                    ModelSpec.read(modelDir),
                    new CheckpointWeights(checkpoint),
                    new LoraSettings(4, 8, 0, false, Set.of("q_proj", "v_proj")),
                    1);
            training = model.logits(IDS);
        }
        int vocab = tiny.spec().vocabSize();
        double maxLogit = 0;
        double maxDifference = 0;
        for (int t = 0; t < IDS.length; t++) {
            for (int v = 0; v < vocab; v++) {
                maxLogit = Math.max(maxLogit, Math.abs(engine[t][v]));
                maxDifference = Math.max(maxDifference, Math.abs(engine[t][v] - training[t * vocab + v]));
            }
        }
        assertThat(maxLogit).isGreaterThan(0.1);
        assertThat(maxDifference).isLessThan(1e-5 * Math.max(1, maxLogit));
    }
}
