package dev.safemerge.model.train;

import dev.safemerge.tensor.Progress;
import java.util.ArrayList;
import java.util.List;

/**
 * The supervised fine-tuning loop: batches grouped by length and shuffled per epoch from the seed, gradient
 * accumulation over {@code gradAccum} micro-batches with the loss averaged over all response tokens of the optimizer
 * step, global-norm clipping, AdamW with a warmup schedule, validation loss after each epoch, and checkpoints.
 *
 * <p>Everything random (batch order, LoRA initialisation, dropout masks) derives from the seed and the step number,
 * so a run resumed from a checkpoint continues exactly as the uninterrupted run would have.
 */
public final class Trainer {
    /** One optimizer step: mean loss over its response tokens, tokens seen, learning rate, gradient norm. */
    public record StepRecord(long step, double loss, long tokens, double learningRate, double gradNorm) {}

    /** Mean validation loss after {@code step} optimizer steps. */
    public record ValidationRecord(long step, int epoch, double loss) {}

    /** Where the run stands; what a checkpoint stores besides parameters and moments. */
    public record State(long step, List<StepRecord> steps, List<ValidationRecord> validation, double seconds) {
        public State {
            steps = List.copyOf(steps);
            validation = List.copyOf(validation);
        }
    }

    /** Saves a resumable checkpoint; called between optimizer steps. */
    @FunctionalInterface
    public interface Checkpointer {
        void save(State state, AdamW optimizer);
    }

    /** The outcome: the full history, and whether the run stopped early on request. */
    public record Result(State state, long totalSteps, boolean interrupted, long trainTokens) {}

    private final TrainableModel model;
    private final TrainingOptions options;
    private final List<SftData.Example> train;
    private final List<SftData.Example> validation;
    private final AdamW optimizer;
    private volatile boolean stopRequested;

    public Trainer(
            TrainableModel model,
            TrainingOptions options,
            List<SftData.Example> train,
            List<SftData.Example> validation) {
        if (train.isEmpty()) {
            throw new IllegalArgumentException("no training examples");
        }
        this.model = model;
        this.options = options;
        this.train = List.copyOf(train);
        this.validation = List.copyOf(validation);
        this.optimizer = new AdamW(model.parameters(), options.adam());
    }

    public AdamW optimizer() {
        return optimizer;
    }

    /** Asks the loop to stop after the current optimizer step (and save a checkpoint). Thread-safe. */
    public void requestStop() {
        stopRequested = true;
    }

    public int batchesPerEpoch() {
        return (train.size() + options.batchSize() - 1) / options.batchSize();
    }

    public long stepsPerEpoch() {
        return (batchesPerEpoch() + options.gradAccum() - 1) / options.gradAccum();
    }

    public long totalSteps() {
        return options.maxSteps() > 0 ? options.maxSteps() : options.epochs() * stepsPerEpoch();
    }

    /**
     * Runs from {@code resume} (null for a fresh start) to the last step or until {@link #requestStop()}. The
     * checkpointer is called every {@code saveEvery} steps and when stopping early.
     */
    public Result run(State resume, Checkpointer checkpointer, Progress.Factory progressFactory) {
        long total = totalSteps();
        long stepsPerEpoch = stepsPerEpoch();
        List<StepRecord> steps = new ArrayList<>(resume == null ? List.of() : resume.steps());
        List<ValidationRecord> validations = new ArrayList<>(resume == null ? List.of() : resume.validation());
        long step = resume == null ? 0 : resume.step();
        double previousSeconds = resume == null ? 0 : resume.seconds();
        long started = System.nanoTime();
        long trainTokens = 0;
        int cachedEpoch = -1;
        List<List<SftData.Example>> batches = List.of();
        boolean interrupted = false;
        try (Progress progress = progressFactory.start("finetune", total, "step")) {
            progress.step(step);
            while (step < total) {
                int epoch = (int) (step / stepsPerEpoch);
                if (epoch != cachedEpoch) {
                    batches = SftData.batchesByLength(train, options.batchSize(), mix(options.seed(), epoch));
                    cachedEpoch = epoch;
                }
                int first = (int) ((step % stepsPerEpoch) * options.gradAccum());
                int last = Math.min(batches.size(), first + options.gradAccum());
                int targets = 0;
                for (int b = first; b < last; b++) {
                    for (SftData.Example example : batches.get(b)) {
                        targets += example.trainedTokens();
                    }
                }
                for (Parameter parameter : model.parameters()) {
                    parameter.zeroGrad();
                }
                double lossSum = 0;
                long tokens = 0;
                float weight = 1f / targets;
                for (int b = first; b < last; b++) {
                    List<TrainableModel.Sequence> batch = sequences(batches.get(b));
                    TrainableModel.Loss loss = model.forwardBackward(batch, weight, mix(options.seed(), step, b));
                    lossSum += loss.sum();
                    for (TrainableModel.Sequence sequence : batch) {
                        tokens += sequence.ids().length;
                    }
                }
                double norm = options.maxGradNorm() > 0
                        ? AdamW.clipGradNorm(model.parameters(), options.maxGradNorm())
                        : AdamW.clipGradNorm(model.parameters(), Double.POSITIVE_INFINITY);
                double lr = options.learningRate() * options.schedule().factor(step, options.warmupSteps(), total);
                optimizer.step(lr);
                step++;
                trainTokens += tokens;
                StepRecord record = new StepRecord(step, lossSum / targets, tokens, lr, norm);
                steps.add(record);
                double seconds = previousSeconds + (System.nanoTime() - started) / 1e9;
                progress.step(1);
                progress.message(String.format(
                        java.util.Locale.ROOT,
                        "loss %.4f  %.0f tok/s",
                        record.loss(),
                        trainTokens / Math.max(1e-9, (System.nanoTime() - started) / 1e9)));
                boolean endOfEpoch = step % stepsPerEpoch == 0 || step == total;
                if (endOfEpoch && !validation.isEmpty()) {
                    validations.add(new ValidationRecord(step, (int) ((step - 1) / stepsPerEpoch), validationLoss()));
                }
                State state = new State(step, steps, validations, seconds);
                if (stopRequested && step < total) {
                    checkpointer.save(state, optimizer);
                    interrupted = true;
                    break;
                }
                if (options.saveEvery() > 0 && step % options.saveEvery() == 0 && step < total) {
                    checkpointer.save(state, optimizer);
                }
            }
        }
        double seconds = previousSeconds + (System.nanoTime() - started) / 1e9;
        return new Result(new State(step, steps, validations, seconds), total, interrupted, trainTokens);
    }

    /** Mean loss per response token over the validation set, without dropout. */
    public double validationLoss() {
        double sum = 0;
        long count = 0;
        for (List<SftData.Example> batch : SftData.batchesByLength(validation, options.batchSize(), 0)) {
            TrainableModel.Loss loss = model.loss(sequences(batch));
            sum += loss.sum();
            count += loss.tokens();
        }
        return count == 0 ? Double.NaN : sum / count;
    }

    private static List<TrainableModel.Sequence> sequences(List<SftData.Example> batch) {
        return batch.stream()
                .map(e -> new TrainableModel.Sequence(e.ids(), e.labels()))
                .toList();
    }

    /** A well-mixed 64-bit seed from a base seed and counters (SplittableRandom's mixing of each in turn). */
    static long mix(long seed, long... values) {
        long h = seed;
        for (long v : values) {
            h = new java.util.SplittableRandom(h ^ (v * 0x9E3779B97F4A7C15L)).nextLong();
        }
        return h;
    }
}
