package dev.safemerge.eval.gen;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.safemerge.eval.Json;
import java.util.List;

/**
 * Decoding settings. Temperature 0 means greedy. {@code topK} 0 and {@code repetitionPenalty} 1 mean off; stop strings
 * end the response (the stop string itself is not part of it).
 */
public record SamplingParams(
        double temperature,
        double topP,
        int topK,
        int maxNewTokens,
        double repetitionPenalty,
        long seed,
        List<String> stop) {

    /** The study's protocol for safety prompts: greedy, 512 new tokens, repetition penalty 1.2, seed 42. */
    public static final SamplingParams STUDY = new SamplingParams(0.0, 1.0, 0, 512, 1.2, 42, List.of());

    public SamplingParams {
        stop = List.copyOf(stop);
        if (maxNewTokens < 1) {
            throw new IllegalArgumentException("maxNewTokens must be at least 1, got " + maxNewTokens);
        }
        if (temperature < 0 || topP <= 0 || topP > 1 || topK < 0 || repetitionPenalty <= 0) {
            throw new IllegalArgumentException("sampling parameters out of range: " + this);
        }
    }

    public SamplingParams withStop(List<String> newStop) {
        return new SamplingParams(temperature, topP, topK, maxNewTokens, repetitionPenalty, seed, newStop);
    }

    public SamplingParams withMaxNewTokens(int tokens) {
        return new SamplingParams(temperature, topP, topK, tokens, repetitionPenalty, seed, stop);
    }

    public ObjectNode toJson() {
        ObjectNode node = Json.object();
        node.put("temperature", temperature);
        node.put("top_p", topP);
        node.put("top_k", topK);
        node.put("max_new_tokens", maxNewTokens);
        node.put("repetition_penalty", repetitionPenalty);
        node.put("seed", seed);
        node.set("stop", Json.MAPPER.valueToTree(stop));
        return node;
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
}
