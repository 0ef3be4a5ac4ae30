package dev.safemerge.model;

import dev.safemerge.model.ops.Rope;
import dev.safemerge.tensor.BadInputException;

/**
 * The rope configuration of a model: {@code rope_scaling} (or v5's {@code rope_parameters}) with the legacy {@code
 * type} spelling accepted. Gives the frequencies for a sequence of a given length (only "dynamic" depends on it).
 */
public record RopeScaling(
        String type,
        int dim,
        double theta,
        double factor,
        int maxPositions,
        int originalMaxPositions,
        double lowFreqFactor,
        double highFreqFactor,
        double betaFast,
        double betaSlow,
        boolean truncate,
        float attentionFactor) {

    /** Frequencies for positions of a sequence whose largest position is {@code length − 1}. */
    public Rope.Frequencies frequencies(int length) {
        return switch (type) {
            case "default" -> Rope.unscaled(dim, theta);
            case "linear" -> Rope.linear(dim, theta, factor);
            case "dynamic" -> Rope.dynamic(dim, theta, factor, maxPositions, length);
            case "llama3" -> Rope.llama3(dim, theta, factor, lowFreqFactor, highFreqFactor, originalMaxPositions);
            case "yarn" ->
                Rope.yarn(dim, theta, factor, originalMaxPositions, betaFast, betaSlow, truncate, attentionFactor);
            default -> throw new IllegalStateException("unchecked rope type " + type);
        };
    }

    /** True when the frequencies change with the sequence length. */
    public boolean dependsOnLength() {
        return type.equals("dynamic");
    }

    static RopeScaling read(ConfigReader config, int headDim, int maxPositions) {
        String file = config.file();
        ConfigReader scaling = config.child("rope_scaling");
        String key = "rope_scaling";
        if (scaling == null) {
            scaling = config.child("rope_parameters");
            key = "rope_parameters";
        }
        double theta = config.doubleOr("rope_theta", 10000);
        if (scaling != null && scaling.has("rope_theta")) {
            theta = scaling.doubleOr("rope_theta", theta);
        }
        if (config.doubleOr("partial_rotary_factor", 1) != 1) {
            throw new BadInputException(file + ": partial_rotary_factor other than 1 is not supported");
        }
        if (scaling == null) {
            return new RopeScaling("default", headDim, theta, 1, maxPositions, maxPositions, 1, 1, 32, 1, true, 1f);
        }
        String type = scaling.stringOr("rope_type", scaling.stringOr("type", "default"));
        double factor = scaling.doubleOr("factor", 1);
        int original = scaling.intOr("original_max_position_embeddings", maxPositions);
        return switch (type) {
            case "default" ->
                new RopeScaling(type, headDim, theta, 1, maxPositions, maxPositions, 1, 1, 32, 1, true, 1f);
            case "linear", "dynamic" -> {
                requireFactor(scaling, file, key, type);
                yield new RopeScaling(type, headDim, theta, factor, maxPositions, original, 1, 1, 32, 1, true, 1f);
            }
            case "llama3" -> {
                requireFactor(scaling, file, key, type);
                for (String k :
                        new String[] {"low_freq_factor", "high_freq_factor", "original_max_position_embeddings"}) {
                    if (!scaling.has(k)) {
                        throw new BadInputException(file + ": " + key + "." + k + " is required for rope type llama3");
                    }
                }
                double low = scaling.doubleOr("low_freq_factor", 1);
                double high = scaling.doubleOr("high_freq_factor", 4);
                if (!(high > low)) {
                    throw new BadInputException(
                            file + ": " + key + ".high_freq_factor must exceed low_freq_factor for llama3");
                }
                yield new RopeScaling(type, headDim, theta, factor, maxPositions, original, low, high, 32, 1, true, 1f);
            }
            case "yarn" -> {
                if (!scaling.has("factor")) {
                    if (!scaling.has("original_max_position_embeddings")) {
                        throw new BadInputException(file + ": " + key + ".factor is required for rope type yarn");
                    }
                    factor = (double) maxPositions / original;
                }
                double mscale = scaling.doubleOr("mscale", 0);
                double mscaleAllDim = scaling.doubleOr("mscale_all_dim", 0);
                double attention;
                if (scaling.has("attention_factor") && !scaling.isNull("attention_factor")) {
                    attention = scaling.doubleOr("attention_factor", 1);
                } else if (mscale != 0 && mscaleAllDim != 0) {
                    attention = Rope.yarnMscale(factor, mscale) / Rope.yarnMscale(factor, mscaleAllDim);
                } else {
                    attention = Rope.yarnMscale(factor, 1);
                }
                yield new RopeScaling(
                        type,
                        headDim,
                        theta,
                        factor,
                        maxPositions,
                        original,
                        1,
                        1,
                        scaling.doubleOr("beta_fast", 32),
                        scaling.doubleOr("beta_slow", 1),
                        scaling.boolOr("truncate", true),
                        (float) attention);
            }
            default ->
                throw new BadInputException(file + ": " + key + ".rope_type '" + type
                        + "' is not supported (supported: default, linear, dynamic, llama3, yarn)");
        };
    }

    private static void requireFactor(ConfigReader scaling, String file, String key, String type) {
        if (!scaling.has("factor") || !(scaling.doubleOr("factor", 0) > 0)) {
            throw new BadInputException(file + ": " + key + ".factor must be a positive number for rope type " + type);
        }
    }
}
