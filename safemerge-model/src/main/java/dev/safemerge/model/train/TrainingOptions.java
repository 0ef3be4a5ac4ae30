package dev.safemerge.model.train;

import dev.safemerge.tensor.BadInputException;

/**
 * The optimisation schedule of one run.
 *
 * @param epochs passes over the training data (ignored when {@code maxSteps} > 0)
 * @param maxSteps optimizer steps to run, cycling through epochs as needed; 0 to run {@code epochs}
 * @param batchSize sequences per micro-batch (grouped by length)
 * @param gradAccum micro-batches per optimizer step
 * @param maxGradNorm global gradient-norm clip, 0 for none
 * @param saveEvery checkpoint every this many optimizer steps, 0 for none
 */
public record TrainingOptions(
        int epochs,
        long maxSteps,
        int batchSize,
        int gradAccum,
        double learningRate,
        LrSchedule schedule,
        long warmupSteps,
        double maxGradNorm,
        AdamW.Settings adam,
        long seed,
        long saveEvery) {
    public TrainingOptions {
        if (maxSteps < 0 || (maxSteps == 0 && epochs < 1)) {
            throw new BadInputException("give --epochs >= 1 or --max-steps >= 1");
        }
        if (batchSize < 1 || gradAccum < 1) {
            throw new BadInputException("--batch-size and --grad-accum must be at least 1");
        }
        if (!(learningRate > 0) || warmupSteps < 0 || maxGradNorm < 0 || saveEvery < 0) {
            throw new BadInputException(
                    "--lr must be positive and --warmup-steps, --max-grad-norm, --save-every non-negative");
        }
    }
}
