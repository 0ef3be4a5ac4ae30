package dev.safemerge.model.generate;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Chooses the next token from one row of logits, in HF's order: repetition penalty, then greedy argmax (lowest id on
 * ties), or temperature, top-k, top-p and a draw from the remaining distribution.
 */
final class Sampler {
    private final Sampling params;
    private final SplittableRandom random;
    private final boolean[] seen;

    /** A sampler for sequence {@code sequenceIndex}, independent of batch composition. */
    Sampler(Sampling params, int sequenceIndex, int vocab) {
        this.params = params;
        this.random = new SplittableRandom(params.seed()).split().split();
        for (int i = 0; i < sequenceIndex; i++) {
            random.split();
        }
        this.seen = params.repetitionPenalty() != 1 ? new boolean[vocab] : null;
    }

    private Sampler(Sampling params, SplittableRandom random, boolean[] seen) {
        this.params = params;
        this.random = random;
        this.seen = seen;
    }

    /** A sampler whose draws come from {@code random}; for tests. */
    static Sampler withRandom(Sampling params, SplittableRandom random, int vocab) {
        return new Sampler(params, random, params.repetitionPenalty() != 1 ? new boolean[vocab] : null);
    }

    /** Records a prompt or generated token for the repetition penalty. */
    void observe(int token) {
        if (seen != null) {
            seen[token] = true;
        }
    }

    /** Picks a token from {@code logits[offset..offset+vocab)}; the slice is modified. */
    int next(float[] logits, int offset, int vocab) {
        if (seen != null) {
            float penalty = (float) params.repetitionPenalty();
            for (int t = 0; t < vocab; t++) {
                if (seen[t]) {
                    float v = logits[offset + t];
                    logits[offset + t] = v < 0 ? v * penalty : v / penalty;
                }
            }
        }
        if (params.greedy()) {
            return argmax(logits, offset, vocab);
        }
        return sample(logits, offset, vocab);
    }

    static int argmax(float[] logits, int offset, int vocab) {
        int best = 0;
        float bestValue = logits[offset];
        for (int t = 1; t < vocab; t++) {
            if (logits[offset + t] > bestValue) {
                bestValue = logits[offset + t];
                best = t;
            }
        }
        return best;
    }

    private int sample(float[] logits, int offset, int vocab) {
        double temperature = params.temperature();
        Integer[] order = new Integer[vocab];
        double[] scaled = new double[vocab];
        for (int t = 0; t < vocab; t++) {
            order[t] = t;
            scaled[t] = logits[offset + t] / temperature;
        }
        // most likely first; equal logits keep the lower id first
        Arrays.sort(order, (a, b) -> scaled[a] != scaled[b] ? Double.compare(scaled[b], scaled[a]) : a - b);
        int kept = vocab;
        if (params.topK() > 0 && params.topK() < vocab) {
            double threshold = scaled[order[params.topK() - 1]];
            kept = params.topK();
            while (kept < vocab && scaled[order[kept]] >= threshold) {
                kept++;
            }
        }
        double max = scaled[order[0]];
        double[] probs = new double[kept];
        double total = 0;
        for (int i = 0; i < kept; i++) {
            probs[i] = Math.exp(scaled[order[i]] - max);
            total += probs[i];
        }
        if (params.topP() < 1) {
            double cumulative = 0;
            int keep = 0;
            while (keep < kept && cumulative < params.topP() * total) {
                cumulative += probs[keep];
                keep++;
            }
            kept = Math.max(1, keep);
            total = cumulative;
        }
        double u = random.nextDouble() * total;
        double cumulative = 0;
        for (int i = 0; i < kept; i++) {
            cumulative += probs[i];
            if (u < cumulative) {
                return order[i];
            }
        }
        return order[kept - 1];
    }
}
