package dev.safemerge.model.train;

import dev.safemerge.tensor.BadInputException;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Which projections get an adapter and how: rank r, alpha, dropout, and rsLoRA (scale alpha/sqrt(r) instead of
 * alpha/r), as PEFT's LoraConfig.
 */
public record LoraSettings(int rank, double alpha, double dropout, boolean rsLora, Set<String> targetModules) {
    /** The projections of the decoder layers, in the order PEFT's "all-linear" finds them (lm_head excluded). */
    public static final List<String> ALL_LINEAR =
            List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj");

    public LoraSettings {
        if (rank < 1) {
            throw new BadInputException("--lora-r must be at least 1, got " + rank);
        }
        if (!(dropout >= 0 && dropout < 1)) {
            throw new BadInputException("--lora-dropout must be in [0, 1), got " + dropout);
        }
        targetModules = Set.copyOf(targetModules);
        for (String module : targetModules) {
            if (!ALL_LINEAR.contains(module)) {
                throw new BadInputException("--target-modules: unknown module '" + module
                        + "' (expected all-linear or some of " + ALL_LINEAR + ")");
            }
        }
    }

    /** Parses "q_proj,v_proj" or "all-linear". */
    public static Set<String> parseTargets(List<String> names) {
        Set<String> targets = new LinkedHashSet<>();
        for (String name : names) {
            if (name.equals("all-linear")) {
                targets.addAll(ALL_LINEAR);
            } else {
                targets.add(name.strip());
            }
        }
        return targets;
    }

    public double scale() {
        return rsLora ? alpha / Math.sqrt(rank) : alpha / rank;
    }
}
