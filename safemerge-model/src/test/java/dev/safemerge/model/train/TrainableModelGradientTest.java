package dev.safemerge.model.train;

import dev.safemerge.model.train.TinyModels.Arch;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.function.DoubleSupplier;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Whole-model gradients of every architecture against finite differences (see {@link GradCheck} for the method and
 * its error bound), in float32 with a float64 loss Σ logits⊙r over two packed sequences (lengths 7 and 5, so sliding
 * windows of 3 cut in). LoRA B factors are random (not zero) so that every A factor has a gradient. The step,
 * 4e-2·max(|p|, 1), keeps the float32 noise of the loss (about 1e-6 here) small in the quotient while the fitted
 * polynomial still follows the loss (its truncation term stays near 1e-5).
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
            GradCheck.check(p.name(), p.values(), p.grad(), loss, 4e-2, samplesPerParameter, index++);
        }
    }
}
