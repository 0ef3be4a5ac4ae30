package dev.safemerge.model;

import dev.safemerge.model.ops.Rope;
import dev.safemerge.tensor.BadInputException;
import dev.safemerge.tensor.ConfigKeys;

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

    static RopeScaling of(ModelConfig config, ConfigKeys raw, int headDim) {
        String file = raw.where();
        int maxPositions = config.maxPositionEmbeddings();
        double theta = config.ropeTheta();
        if (raw.finiteDouble("partial_rotary_factor", 1) != 1) {
            throw new BadInputException(file + ": partial_rotary_factor other than 1 is not supported");
        }
        ModelConfig.RopeScaling scaling = config.ropeScaling();
        if (scaling == null) {
            return new RopeScaling("default", headDim, theta, 1, maxPositions, maxPositions, 1, 1, 32, 1, true, 1f);
        }
        String key = raw.has("rope_scaling") ? "rope_scaling" : "rope_parameters";
        String type = scaling.type();
        Double factor = scaling.factor();
        int original = scaling.originalMaxPositionEmbeddings() == null
                ? maxPositions
                : scaling.originalMaxPositionEmbeddings();
        return switch (type) {
            case "linear", "dynamic" -> {
                requireFactor(factor, file, key, type);
                yield new RopeScaling(type, headDim, theta, factor, maxPositions, original, 1, 1, 32, 1, true, 1f);
            }
            case "llama3" -> {
                requireFactor(factor, file, key, type);
                if (scaling.lowFreqFactor() == null
                        || scaling.highFreqFactor() == null
                        || scaling.originalMaxPositionEmbeddings() == null) {
                    throw new BadInputException(file + ": " + key + " of type llama3 needs low_freq_factor, "
                            + "high_freq_factor and original_max_position_embeddings");
                }
                double low = scaling.lowFreqFactor();
                double high = scaling.highFreqFactor();
                if (!(high > low)) {
                    throw new BadInputException(
                            file + ": " + key + ".high_freq_factor must exceed low_freq_factor for llama3");
                }
                yield new RopeScaling(type, headDim, theta, factor, maxPositions, original, low, high, 32, 1, true, 1f);
            }
            case "yarn" -> {
                double yarnFactor;
                if (factor != null) {
                    yarnFactor = factor;
                } else if (scaling.originalMaxPositionEmbeddings() != null) {
                    yarnFactor = (double) maxPositions / original;
                } else {
                    throw new BadInputException(file + ": " + key + ".factor is required for rope type yarn");
                }
                ConfigKeys params = raw.object(key);
                double mscale = params.finiteDouble("mscale", 0);
                double mscaleAllDim = params.finiteDouble("mscale_all_dim", 0);
                double attention;
                if (scaling.attentionFactor() != null) {
                    attention = scaling.attentionFactor();
                } else if (mscale != 0 && mscaleAllDim != 0) {
                    attention = Rope.yarnMscale(yarnFactor, mscale) / Rope.yarnMscale(yarnFactor, mscaleAllDim);
                } else {
                    attention = Rope.yarnMscale(yarnFactor, 1);
                }
                yield new RopeScaling(
                        type,
                        headDim,
                        theta,
                        yarnFactor,
                        maxPositions,
                        original,
                        1,
                        1,
                        scaling.betaFast() == null ? 32 : scaling.betaFast(),
                        scaling.betaSlow() == null ? 1 : scaling.betaSlow(),
                        params.bool("truncate", true),
                        (float) attention);
            }
            default ->
                throw new BadInputException(file + ": " + key + ".rope_type '" + type
                        + "' is not supported (supported: default, linear, dynamic, llama3, yarn)");
        };
    }

    private static void requireFactor(Double factor, String file, String key, String type) {
        if (factor == null) {
            throw new BadInputException(file + ": " + key + ".factor must be a positive number for rope type " + type);
        }
    }
}
