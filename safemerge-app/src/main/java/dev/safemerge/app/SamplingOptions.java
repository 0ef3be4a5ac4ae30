package dev.safemerge.app;

import dev.safemerge.model.generate.Sampling;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/** The sampling flags shared by generate and chat. */
final class SamplingOptions {
    /** How these defaults differ from eval's, for the help of every command that uses them. */
    static final String DEFAULTS_NOTE = "Defaults differ from eval's: no system prompt, greedy, no repetition penalty"
            + " (eval's --protocol study adds the system prompt \"You are a helpful assistant.\" and a repetition"
            + " penalty of 1.2).";

    @Option(
            names = "--temperature",
            defaultValue = "0",
            paramLabel = "T",
            description = "0 is greedy (ties to the lowest id). Default: ${DEFAULT-VALUE}.")
    double temperature;

    @Option(
            names = "--top-p",
            defaultValue = "1",
            paramLabel = "P",
            description = "Nucleus sampling mass. Default: ${DEFAULT-VALUE}.")
    double topP;

    @Option(
            names = "--top-k",
            defaultValue = "0",
            paramLabel = "K",
            description = "Keep the K most likely tokens, 0 keeps all. Default: ${DEFAULT-VALUE}.")
    int topK;

    @Option(
            names = "--repetition-penalty",
            defaultValue = "1",
            paramLabel = "X",
            description = "HF repetition penalty, 1 is off. Default: ${DEFAULT-VALUE}.")
    double repetitionPenalty;

    @Option(
            names = "--seed",
            defaultValue = "0",
            paramLabel = "SEED",
            description = "Sampler seed. Default: ${DEFAULT-VALUE}.")
    long seed;

    @Option(
            names = "--stop",
            description = "Stop as soon as the text contains STR (repeatable); the text ends before it.",
            paramLabel = "STR")
    List<String> stop = new ArrayList<>();

    @Option(names = "--ignore-eos", description = "Keep generating after end-of-sequence tokens.")
    boolean ignoreEos;

    Sampling toOptions(int maxNewTokens) {
        return Sampling.greedy(maxNewTokens)
                .withTemperature(temperature)
                .withTopP(topP)
                .withTopK(topK)
                .withRepetitionPenalty(repetitionPenalty)
                .withSeed(seed)
                .withIgnoreEos(ignoreEos)
                .withStop(stop);
    }
}
