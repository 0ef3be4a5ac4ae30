package dev.safemerge.model.train;

import static org.assertj.core.api.Assertions.assertThat;

import dev.safemerge.model.train.TinyModels.Arch;
import dev.safemerge.tensor.DType;
import dev.safemerge.tensor.Progress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainerTest {
    /** Prompt [1, p, 2] must be answered with [p+10, p+20, 3]: a mapping the random base model does not know. */
    static List<SftData.Example> toyTask(int count) {
        List<SftData.Example> examples = new ArrayList<>();
        for (int p = 4; p < 4 + count; p++) {
            int[] ids = {1, p, 2, p + 10, p + 20, 3};
            int ig = CrossEntropy.IGNORE;
            int[] labels = {ig, ig, p + 10, p + 20, 3, ig};
            examples.add(new SftData.Example(p, ids, labels));
        }
        return examples;
    }

    static int[] greedy(TrainableModel model, int[] prompt, int newTokens) {
        int[] ids = prompt.clone();
        for (int i = 0; i < newTokens; i++) {
            float[] logits = model.logits(ids);
            int vocab = model.spec().vocabSize();
            int best = 0;
            for (int v = 1; v < vocab; v++) {
                if (logits[(ids.length - 1) * vocab + v] > logits[(ids.length - 1) * vocab + best]) {
                    best = v;
                }
            }
            ids = java.util.Arrays.copyOf(ids, ids.length + 1);
            ids[ids.length - 1] = best;
        }
        return java.util.Arrays.copyOfRange(ids, prompt.length, ids.length);
    }

    static TrainingOptions options(long maxSteps, long saveEvery) {
        return new TrainingOptions(
                1, maxSteps, 4, 2, 2e-2, LrSchedule.LINEAR, 2, 1.0, AdamW.Settings.DEFAULTS, 42, saveEvery);
    }

    @Test
    void loraTrainingLowersTheLossAndTeachesTheMapping() {
        TinyModels.Tiny tiny = TinyModels.create(Arch.LLAMA, 1, 48, 32, 64, 2, DType.BF16);
        LoraSettings lora = new LoraSettings(8, 16, 0.0, false, Set.copyOf(LoraSettings.ALL_LINEAR));
        TrainableModel model = TrainableModel.withLora(tiny.spec(), tiny.weights(), lora, 3);
        List<SftData.Example> data = toyTask(8);
        int[] prompt = {1, 5, 2};
        assertThat(greedy(model, prompt, 3)).isNotEqualTo(new int[] {15, 25, 3});

        Trainer trainer = new Trainer(model, options(60, 0), data, data.subList(0, 2));
        Trainer.Result result = trainer.run(null, (s, o) -> {}, Progress.SILENT);

        List<Trainer.StepRecord> steps = result.state().steps();
        assertThat(steps).hasSize(60);
        double first = steps.getFirst().loss();
        double last = steps.getLast().loss();
        assertThat(last).isLessThan(0.1 * first);
        int correct = 0;
        for (SftData.Example example : data) {
            int p = example.ids()[1];
            if (java.util.Arrays.equals(greedy(model, new int[] {1, p, 2}, 3), new int[] {p + 10, p + 20, 3})) {
                correct++;
            }
        }
        assertThat(correct).isEqualTo(data.size());
        assertThat(result.state().validation()).isNotEmpty();
        assertThat(result.state().validation().getLast().loss()).isLessThan(0.1 * first);
    }

    @Test
    void resumingFromACheckpointContinuesBitForBit(@TempDir Path dir) {
        TinyModels.Tiny tiny = TinyModels.create(Arch.GEMMA2, 2, 48, 32, 64, 2, DType.BF16);
        LoraSettings lora = new LoraSettings(4, 8, 0.1, true, Set.of("q_proj", "v_proj", "down_proj"));
        List<SftData.Example> data = toyTask(10);
        Map<String, String> settings = Map.of("seed", "42");

        TrainableModel straight = TrainableModel.withLora(tiny.spec(), tiny.weights(), lora, 3);
        Trainer.Result full =
                new Trainer(straight, options(6, 0), data, List.of()).run(null, (s, o) -> {}, Progress.SILENT);

        TrainableModel first = TrainableModel.withLora(tiny.spec(), tiny.weights(), lora, 3);
        Trainer firstTrainer = new Trainer(first, options(6, 0), data, List.of());
        Path checkpoint = dir.resolve("ckpt");
        Trainer.Result interrupted = firstTrainer.run(
                null,
                (state, optimizer) -> TrainingCheckpoint.save(checkpoint, state, optimizer, settings),
                new StopAfter(firstTrainer, 3));
        assertThat(interrupted.interrupted()).isTrue();
        assertThat(interrupted.state().step()).isEqualTo(3);

        TrainableModel resumed = TrainableModel.withLora(tiny.spec(), tiny.weights(), lora, 999);
        Trainer resumedTrainer = new Trainer(resumed, options(6, 0), data, List.of());
        Trainer.State state = TrainingCheckpoint.load(checkpoint, resumedTrainer.optimizer(), settings);
        Trainer.Result rest = resumedTrainer.run(state, (s, o) -> {}, Progress.SILENT);

        assertThat(rest.state().steps()).hasSize(6);
        for (int i = 0; i < 6; i++) {
            assertThat(rest.state().steps().get(i).loss())
                    .as("step %d", i)
                    .isEqualTo(full.state().steps().get(i).loss());
        }
        for (int i = 0; i < straight.parameters().size(); i++) {
            assertThat(resumed.parameters().get(i).values())
                    .containsExactly(straight.parameters().get(i).values());
        }
    }

    /** A progress display that asks the trainer to stop once {@code steps} steps are done, as Ctrl-C would. */
    private record StopAfter(Trainer trainer, long steps) implements Progress.Factory {
        @Override
        public Progress start(String task, long total, String unit) {
            return new Progress() {
                long done;

                @Override
                public void step(long amount) {
                    done += amount;
                    if (done >= steps) {
                        trainer.requestStop();
                    }
                }

                @Override
                public void message(String text) {}

                @Override
                public void close() {}
            };
        }
    }
}
