package dev.safemerge.model.generate;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.safemerge.tensor.BadInputException;
import java.util.List;

/**
 * How to continue a prompt, the one record every generator, evaluation and command shares. {@code temperature == 0}
 * is greedy decoding (ties go to the lowest token id); otherwise the logits are divided by the temperature, filtered
 * by top-k then top-p, and sampled with a generator seeded from {@code seed} and the sequence index, so a run is
 * reproducible. Build it from {@link #greedy(int)} and the withers, so that no caller lists numbers by position.
 *
 * @param temperature 0 for greedy, else &gt; 0
 * @param topP keep the smallest set of most likely tokens whose probability reaches p; 1 keeps all
 * @param topK keep the k most likely tokens; 0 keeps all
 * @param repetitionPenalty HF semantics over the prompt and generated tokens: positive logits are divided by it,
 *     negative ones multiplied; 1 is off
 * @param seed seed of the sampler
 * @param maxNewTokens stop after this many generated tokens (finish reason "length")
 * @param ignoreEos keep generating past end-of-sequence tokens
 * @param stop generation ends as soon as the text contains one of these; the text is cut before it
 */
public record Sampling(
        double temperature,
        double topP,
        int topK,
        double repetitionPenalty,
        long seed,
        int maxNewTokens,
        boolean ignoreEos,
        List<String> stop) {
    public Sampling {
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
        if (maxNewTokens < 0) {
            throw new BadInputException("max new tokens must be >= 0, got " + maxNewTokens);
        }
        stop = List.copyOf(stop);
        for (String s : stop) {
            if (s.isEmpty()) {
                throw new BadInputException("stop strings must not be empty");
            }
        }
    }

    /** Greedy decoding of at most {@code maxNewTokens} tokens, no repetition penalty, no stop strings, seed 0. */
    public static Sampling greedy(int maxNewTokens) {
        return new Sampling(0, 1, 0, 1, 0, maxNewTokens, false, List.of());
    }

    public boolean greedy() {
        return temperature == 0;
    }

    public Sampling withTemperature(double value) {
        return new Sampling(value, topP, topK, repetitionPenalty, seed, maxNewTokens, ignoreEos, stop);
    }

    public Sampling withTopP(double value) {
        return new Sampling(temperature, value, topK, repetitionPenalty, seed, maxNewTokens, ignoreEos, stop);
    }

    public Sampling withTopK(int value) {
        return new Sampling(temperature, topP, value, repetitionPenalty, seed, maxNewTokens, ignoreEos, stop);
    }

    public Sampling withRepetitionPenalty(double value) {
        return new Sampling(temperature, topP, topK, value, seed, maxNewTokens, ignoreEos, stop);
    }

    public Sampling withSeed(long value) {
        return new Sampling(temperature, topP, topK, repetitionPenalty, value, maxNewTokens, ignoreEos, stop);
    }

    public Sampling withMaxNewTokens(int value) {
        return new Sampling(temperature, topP, topK, repetitionPenalty, seed, value, ignoreEos, stop);
    }

    public Sampling withIgnoreEos(boolean value) {
        return new Sampling(temperature, topP, topK, repetitionPenalty, seed, maxNewTokens, value, stop);
    }

    public Sampling withStop(List<String> value) {
        return new Sampling(temperature, topP, topK, repetitionPenalty, seed, maxNewTokens, ignoreEos, value);
    }

    /**
     * The settings that can share one engine batch: everything but the per-sequence limit and stop strings, which
     * are set to 0 and none.
     */
    public Sampling batchKey() {
        return withMaxNewTokens(0).withStop(List.of());
    }

    /** Cuts a response at the earliest stop string, as servers do; used for answers produced elsewhere too. */
    public String applyStop(String text) {
        int end = text.length();
        for (String s : stop) {
            int at = text.indexOf(s);
            if (at >= 0 && at < end) {
                end = at;
            }
        }
        return text.substring(0, end);
    }

    /**
     * The settings as recorded in generation cache keys and summary.json: these field names and this order are
     * persisted, so they never change; {@code ignore_eos} is written only when set, so that every record written
     * before it existed keeps its key.
     */
    public ObjectNode toJson() {
        ObjectNode node = JsonNodeFactory.instance.objectNode();
        node.put("temperature", temperature);
        node.put("top_p", topP);
        node.put("top_k", topK);
        node.put("max_new_tokens", maxNewTokens);
        node.put("repetition_penalty", repetitionPenalty);
        node.put("seed", seed);
        ArrayNode stops = node.putArray("stop");
        stop.forEach(stops::add);
        if (ignoreEos) {
            node.put("ignore_eos", true);
        }
        return node;
    }
}
