package dev.safemerge.model;

import java.util.Locale;

/**
 * How far logits (positions × vocabulary) are from reference logits of the same tokens: the largest difference, the
 * root mean square of the differences and of the reference, and at how many positions the two pick the same token.
 * Quantized weights and other engines are measured against the engine's exact logits this way.
 */
public record LogitDifference(double maxAbs, double rms, double referenceRms, int argmaxAgreements, int positions) {
    public static LogitDifference of(float[][] reference, float[][] other) {
        if (reference.length != other.length) {
            throw new IllegalArgumentException(
                    "logits of " + reference.length + " and " + other.length + " positions cannot be compared");
        }
        double max = 0;
        double squaredDifference = 0;
        double squaredReference = 0;
        long count = 0;
        int agree = 0;
        for (int t = 0; t < reference.length; t++) {
            if (reference[t].length != other[t].length) {
                throw new IllegalArgumentException("position " + t + ": vocabularies of " + reference[t].length
                        + " and " + other[t].length + " logits cannot be compared");
            }
            int bestReference = 0;
            int bestOther = 0;
            for (int v = 0; v < reference[t].length; v++) {
                double d = other[t][v] - reference[t][v];
                max = Math.max(max, Math.abs(d));
                squaredDifference += d * d;
                squaredReference += (double) reference[t][v] * reference[t][v];
                count++;
                bestReference = reference[t][v] > reference[t][bestReference] ? v : bestReference;
                bestOther = other[t][v] > other[t][bestOther] ? v : bestOther;
            }
            agree += bestReference == bestOther ? 1 : 0;
        }
        return new LogitDifference(
                max,
                Math.sqrt(squaredDifference / count),
                Math.sqrt(squaredReference / count),
                agree,
                reference.length);
    }

    /** The differences' root mean square as a fraction of the reference's. */
    public double rmsRelative() {
        return rms / referenceRms;
    }

    @Override
    public String toString() {
        return String.format(
                Locale.ROOT,
                "max |Δlogit| %.4f, rms Δ / rms logit %.2f%%, argmax agrees at %d of %d positions",
                maxAbs,
                100 * rmsRelative(),
                argmaxAgreements,
                positions);
    }
}
