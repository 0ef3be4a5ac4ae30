package dev.safemerge.model.text;

import dev.safemerge.tensor.BadInputException;
import java.util.List;

/**
 * How to continue a prompt: sampling (temperature 0 is greedy, ties to the lowest id), limits and stop strings.
 *
 * @param maxNewTokens at most this many generated tokens
 * @param temperature 0 for greedy decoding
 * @param topP nucleus mass (1 keeps every token)
 * @param topK keep the K most likely tokens (0 keeps every token)
 * @param repetitionPenalty CTRL-style penalty on tokens already in the sequence (1 is none)
 * @param seed seed of the sampler
 * @param ignoreEos keep generating after an end-of-sequence token
 * @param stop generation ends as soon as the text contains one of these; the text is cut before it
 */
public record GenerationOptions(
        int maxNewTokens,
        double temperature,
        double topP,
        int topK,
        double repetitionPenalty,
        long seed,
        boolean ignoreEos,
        List<String> stop) {
    public GenerationOptions {
        if (maxNewTokens < 0) {
            throw new BadInputException("max new tokens must be >= 0, got " + maxNewTokens);
        }
        if (!(temperature >= 0) || Double.isInfinite(temperature)) {
            throw new BadInputException("temperature must be a finite number >= 0, got " + temperature);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new BadInputException("top-p must be in (0, 1], got " + topP);
        }
        if (topK < 0) {
            throw new BadInputException("top-k must be >= 0, got " + topK);
        }
        if (!(repetitionPenalty > 0) || Double.isInfinite(repetitionPenalty)) {
            throw new BadInputException("repetition penalty must be a finite number > 0, got " + repetitionPenalty);
        }
        stop = List.copyOf(stop);
        for (String s : stop) {
            if (s.isEmpty()) {
                throw new BadInputException("stop strings must not be empty");
            }
        }
    }

    /** Greedy decoding of at most {@code maxNewTokens} tokens, no stop strings. */
    public static GenerationOptions greedy(int maxNewTokens) {
        return new GenerationOptions(maxNewTokens, 0, 1, 0, 1, 0, false, List.of());
    }

    public GenerationOptions withMaxNewTokens(int value) {
        return new GenerationOptions(value, temperature, topP, topK, repetitionPenalty, seed, ignoreEos, stop);
    }

    public GenerationOptions withSampling(double newTemperature, double newTopP, int newTopK, long newSeed) {
        return new GenerationOptions(
                maxNewTokens, newTemperature, newTopP, newTopK, repetitionPenalty, newSeed, ignoreEos, stop);
    }

    public GenerationOptions withSeed(long value) {
        return new GenerationOptions(maxNewTokens, temperature, topP, topK, repetitionPenalty, value, ignoreEos, stop);
    }

    public GenerationOptions withRepetitionPenalty(double value) {
        return new GenerationOptions(maxNewTokens, temperature, topP, topK, value, seed, ignoreEos, stop);
    }

    public GenerationOptions withIgnoreEos(boolean value) {
        return new GenerationOptions(maxNewTokens, temperature, topP, topK, repetitionPenalty, seed, value, stop);
    }

    public GenerationOptions withStop(List<String> value) {
        return new GenerationOptions(maxNewTokens, temperature, topP, topK, repetitionPenalty, seed, ignoreEos, value);
    }

    /** Options that can share one engine batch: everything but the per-sequence limits and stop strings. */
    public record Sampling(
            double temperature, double topP, int topK, double repetitionPenalty, long seed, boolean ignoreEos) {}

    public Sampling sampling() {
        return new Sampling(temperature, topP, topK, repetitionPenalty, seed, ignoreEos);
    }
}
