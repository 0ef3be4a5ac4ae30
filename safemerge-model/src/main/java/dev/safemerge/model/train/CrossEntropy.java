package dev.safemerge.model.train;

/**
 * Next-token cross-entropy over the positions that have a target, as HF causal-LM training computes it with labels
 * of -100 on prompt tokens: position t predicts {@code targets[t]}, and {@link #IGNORE} positions contribute nothing.
 */
public final class CrossEntropy {
    private CrossEntropy() {}

    public static final int IGNORE = -100;

    /**
     * Returns the summed loss over non-ignored positions of logits [T, vocab] and overwrites {@code logits} with
     * {@code d(weight·sum)/d(logits)}: {@code weight·(softmax − onehot)} on counted rows, 0 on ignored ones. The
     * caller picks {@code weight} = 1/(tokens counted in the optimizer step) to get the mean.
     */
    public static double forwardBackward(float[] logits, int tokens, int vocab, int[] targets, float weight) {
        double total = 0;
        for (int t = 0; t < tokens; t++) {
            int row = t * vocab;
            int target = targets[t];
            if (target == IGNORE) {
                java.util.Arrays.fill(logits, row, row + vocab, 0f);
                continue;
            }
            if (target < 0 || target >= vocab) {
                throw new IllegalArgumentException("target " + target + " outside the vocabulary of " + vocab);
            }
            float max = Float.NEGATIVE_INFINITY;
            for (int v = 0; v < vocab; v++) {
                max = Math.max(max, logits[row + v]);
            }
            double sum = 0;
            for (int v = 0; v < vocab; v++) {
                sum += Math.exp(logits[row + v] - max);
            }
            double logSumExp = max + Math.log(sum);
            total += logSumExp - logits[row + target];
            for (int v = 0; v < vocab; v++) {
                logits[row + v] = (float) (weight * Math.exp(logits[row + v] - logSumExp));
            }
            logits[row + target] -= weight;
        }
        return total;
    }

    /** The summed loss only (evaluation), leaving logits untouched. */
    public static double loss(float[] logits, int tokens, int vocab, int[] targets) {
        double total = 0;
        for (int t = 0; t < tokens; t++) {
            if (targets[t] == IGNORE) {
                continue;
            }
            int row = t * vocab;
            float max = Float.NEGATIVE_INFINITY;
            for (int v = 0; v < vocab; v++) {
                max = Math.max(max, logits[row + v]);
            }
            double sum = 0;
            for (int v = 0; v < vocab; v++) {
                sum += Math.exp(logits[row + v] - max);
            }
            total += max + Math.log(sum) - logits[row + targets[t]];
        }
        return total;
    }
}
