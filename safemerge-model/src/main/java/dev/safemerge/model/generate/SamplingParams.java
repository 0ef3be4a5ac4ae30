package dev.safemerge.model.generate;

/**
 * How tokens are chosen. {@code temperature == 0} is greedy decoding (ties go to the lowest token id); otherwise the
 * logits are divided by the temperature, filtered by top-k then top-p, and sampled with a generator seeded from
 * {@code seed} and the sequence index, so a run is reproducible.
 *
 * @param temperature 0 for greedy, else &gt; 0
 * @param topK keep the k most likely tokens; 0 keeps all
 * @param topP keep the smallest set of most likely tokens whose probability reaches p; 1 keeps all
 * @param repetitionPenalty HF semantics over the prompt and generated tokens: positive logits are divided by it,
 *     negative ones multiplied; 1 is off
 * @param seed seed of the sampler
 * @param maxNewTokens stop after this many generated tokens (finish reason "length")
 * @param ignoreEos keep generating past end-of-sequence tokens
 */
public record SamplingParams(
        double temperature,
        int topK,
        double topP,
        double repetitionPenalty,
        long seed,
        int maxNewTokens,
        boolean ignoreEos) {
    public SamplingParams {
        if (!(temperature >= 0) || Double.isInfinite(temperature)) {
            throw new IllegalArgumentException("temperature must be a finite number >= 0, got " + temperature);
        }
        if (topK < 0) {
            throw new IllegalArgumentException("topK must be >= 0, got " + topK);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException("topP must be in (0, 1], got " + topP);
        }
        if (!(repetitionPenalty > 0) || Double.isInfinite(repetitionPenalty)) {
            throw new IllegalArgumentException(
                    "repetitionPenalty must be a finite number > 0, got " + repetitionPenalty);
        }
        if (maxNewTokens < 0) {
            throw new IllegalArgumentException("maxNewTokens must be >= 0, got " + maxNewTokens);
        }
    }

    /** Greedy decoding of up to {@code maxNewTokens} tokens, stopping at end-of-sequence. */
    public static SamplingParams greedy(int maxNewTokens) {
        return new SamplingParams(0, 0, 1, 1, 0, maxNewTokens, false);
    }

    public boolean greedy() {
        return temperature == 0;
    }

    public SamplingParams withSeed(long newSeed) {
        return new SamplingParams(temperature, topK, topP, repetitionPenalty, newSeed, maxNewTokens, ignoreEos);
    }
}
