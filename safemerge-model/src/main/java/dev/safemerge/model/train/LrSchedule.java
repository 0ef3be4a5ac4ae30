package dev.safemerge.model.train;

import dev.safemerge.tensor.BadInputException;
import java.util.Locale;

/**
 * Learning-rate multipliers as HF get_linear_schedule_with_warmup and get_cosine_schedule_with_warmup (one half
 * cosine cycle). Optimizer step k (0-based) uses {@code lr·factor(k)}, so with warmup the first step has lr 0, as
 * with torch's LambdaLR stepped after each optimizer step.
 */
public enum LrSchedule {
    LINEAR,
    COSINE,
    CONSTANT;

    public double factor(long step, long warmupSteps, long totalSteps) {
        if (step < warmupSteps) {
            return (double) step / Math.max(1, warmupSteps);
        }
        return switch (this) {
            case LINEAR -> Math.max(0.0, (double) (totalSteps - step) / Math.max(1, totalSteps - warmupSteps));
            case COSINE -> {
                double progress = (double) (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
                yield Math.max(0.0, 0.5 * (1.0 + Math.cos(Math.PI * progress)));
            }
            case CONSTANT -> 1.0;
        };
    }

    public static LrSchedule parse(String name) {
        try {
            return valueOf(name.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new BadInputException("unknown schedule '" + name + "' (expected linear, cosine or constant)", e);
        }
    }
}
