package dev.safemerge.app;

import dev.safemerge.eval.run.ProtocolSettings;
import picocli.CommandLine.Option;

/** The evaluation protocol: a preset and the settings that override it; shared by {@code eval} and {@code safeguard}. */
final class ProtocolOptions {
    @Option(
            names = "--protocol",
            paramLabel = "NAME",
            description = "Preset of system prompt and decoding settings (default study): study = the"
                    + " study's (system prompt \"You are a helpful assistant.\", none for Gemma; greedy; 512 new"
                    + " tokens; repetition penalty 1.2; seed 42); plain = study without the repetition penalty;"
                    + " demo = no system prompt, greedy, 32 new tokens, no penalty (the shipped tiny model). The"
                    + " options below override the preset; overrides are recorded in summary.json.")
    String protocolName;

    @Option(
            names = {"--system", "--system-prompt"},
            paramLabel = "TEXT",
            description = "System prompt instead of the preset's (--system-prompt is an alias).")
    String systemPrompt;

    @Option(names = "--no-system-prompt", description = "Send no system turn.")
    boolean noSystemPrompt;

    @Option(names = "--temperature", paramLabel = "T", description = "0 = greedy (every preset is greedy).")
    Double temperature;

    @Option(names = "--top-p", paramLabel = "P", description = "Nucleus sampling mass (presets: 1).")
    Double topP;

    @Option(names = "--top-k", paramLabel = "K", description = "Top-k sampling, 0 = off (presets: 0).")
    Integer topK;

    @Option(names = "--max-new-tokens", paramLabel = "N", description = "New tokens per answer.")
    Integer maxNewTokens;

    @Option(names = "--repetition-penalty", paramLabel = "X", description = "HF repetition penalty, 1 = off.")
    Double repetitionPenalty;

    @Option(names = "--seed", paramLabel = "SEED", description = "Sampling seed (presets: 42).")
    Long seed;

    /** The preset named by --protocol (study when not given) and every option given over it. */
    ProtocolSettings settings() {
        return new ProtocolSettings(
                protocolName == null ? ProtocolSettings.DEFAULT_PRESET : protocolName,
                systemPrompt,
                noSystemPrompt,
                temperature,
                topP,
                topK,
                maxNewTokens,
                repetitionPenalty,
                seed);
    }

    /** Whether any protocol option was given. */
    boolean anyGiven() {
        return protocolName != null
                || systemPrompt != null
                || noSystemPrompt
                || temperature != null
                || topP != null
                || topK != null
                || maxNewTokens != null
                || repetitionPenalty != null
                || seed != null;
    }
}
