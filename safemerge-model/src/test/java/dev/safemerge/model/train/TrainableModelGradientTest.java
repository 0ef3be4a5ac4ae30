package dev.safemerge.model.train;

import dev.safemerge.model.train.TinyModels.Arch;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.function.DoubleSupplier;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Whole-model gradients of every architecture against central finite differences, in float32 with a float64 loss.
 * The loss Σ logits⊙r over two packed sequences (lengths 7 and 5, so sliding windows of 3 cut in) has about 500
 * terms of order 1, so its float32 rounding noise is near 1e-6, which is 2.5e-4 in the quotient with ε = 2e-3.
 * The O(ε²) truncation term matters for LoRA A factors with random (non-zero) B on every projection, whose
 * gradients reach ~100: at ε = 1e-2 it was measured at 3%, at 2e-3 it is 25 times smaller. The tolerance
 * (2e-3 absolute + 2% relative) sits above both and far below any real mistake.
 */
class TrainableModelGradientTest {
    private static final List<int[]> SEQUENCES = List.of(new int[] {1, 5, 9, 2, 30, 7, 11}, new int[] {3, 3, 8, 21, 4});

    @ParameterizedTest
    @EnumSource(Arch.class)
    void loraGradientsMatchFiniteDifferences(Arch arch) {
        TinyModels.Tiny tiny = TinyModels.create(arch, 100 + arch.ordinal());
        LoraSettings lora = new LoraSettings(2, 4, 0.2, false, Set.copyOf(LoraSettings.ALL_LINEAR));
        TrainableModel model = TrainableModel.withLora(tiny.spec(), tiny.weights(), lora, 5);
        SplittableRandom random = new SplittableRandom(6);
        for (Parameter p : model.parameters()) {
            if (p.name().contains("lora_B")) {
                float[] values = GradCheck.gaussian(p.size(), 0.3, random);
                System.arraycopy(values, 0, p.values(), 0, values.length);
            }
        }
        checkAll(model, tiny.spec().vocabSize(), 8);
    }

    @ParameterizedTest
    @EnumSource(Arch.class)
    void fullFineTuningGradientsMatchFiniteDifferences(Arch arch) {
        TinyModels.Tiny tiny = TinyModels.create(arch, 200 + arch.ordinal());
        TrainableModel model = TrainableModel.full(tiny.spec(), tiny.weights());
        checkAll(model, tiny.spec().vocabSize(), 6);
    }

    private static void checkAll(TrainableModel model, int vocab, int samplesPerParameter) {
        int tokens = SEQUENCES.stream().mapToInt(s -> s.length).sum();
        float[] r = GradCheck.gaussian(tokens * vocab, 1, new SplittableRandom(9));
        long dropoutSeed = 77;
        model.backwardFromLogits(SEQUENCES, r, dropoutSeed);
        DoubleSupplier loss = () -> GradCheck.project(model.logits(SEQUENCES, dropoutSeed), r);
        int index = 0;
        for (Parameter p : model.parameters()) {
            GradCheck.check(p.name(), p.values(), p.grad(), loss, 2e-3, 2e-2, 2e-3, samplesPerParameter, index++);
        }
    }
}
