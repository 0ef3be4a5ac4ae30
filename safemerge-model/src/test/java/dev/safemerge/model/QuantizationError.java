package dev.safemerge.model;

/** How far quantized logits are from exact ones. */
record QuantizationError(double maxAbs, double rms, double referenceRms, double argmaxAgreement) {
    static QuantizationError of(float[][] reference, float[][] quantized) {
        double max = 0;
        double sumSquares = 0;
        double referenceSquares = 0;
        int agree = 0;
        long count = 0;
        for (int t = 0; t < reference.length; t++) {
            int bestReference = 0;
            int bestQuantized = 0;
            for (int v = 0; v < reference[t].length; v++) {
                double d = quantized[t][v] - reference[t][v];
                max = Math.max(max, Math.abs(d));
                sumSquares += d * d;
                referenceSquares += (double) reference[t][v] * reference[t][v];
                count++;
                if (reference[t][v] > reference[t][bestReference]) {
                    bestReference = v;
                }
                if (quantized[t][v] > quantized[t][bestQuantized]) {
                    bestQuantized = v;
                }
            }
            if (bestReference == bestQuantized) {
                agree++;
            }
        }
        return new QuantizationError(
                max,
                Math.sqrt(sumSquares / count),
                Math.sqrt(referenceSquares / count),
                (double) agree / reference.length);
    }
}
