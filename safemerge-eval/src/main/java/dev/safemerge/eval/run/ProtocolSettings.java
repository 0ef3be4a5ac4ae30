package dev.safemerge.eval.run;

import dev.safemerge.model.generate.Sampling;
import dev.safemerge.tensor.BadInputException;
import java.util.ArrayList;
import java.util.List;

/**
 * A protocol as the user chooses it: a named {@link Protocol.Preset} and the settings given over it, each null when
 * not given (then the preset's applies). {@link #resolve} turns it into the {@link Protocol} for a model, recording
 * every given setting that differs from the preset's as an override.
 *
 * @param preset the preset's label ({@code study}, {@code plain}, {@code demo})
 * @param systemPrompt the system prompt instead of the preset's, or null
 * @param noSystemPrompt send no system turn
 */
public record ProtocolSettings(
        String preset,
        String systemPrompt,
        boolean noSystemPrompt,
        Double temperature,
        Double topP,
        Integer topK,
        Integer maxNewTokens,
        Double repetitionPenalty,
        Long seed) {
    public static final String DEFAULT_PRESET = Protocol.Preset.STUDY.label();

    /** A preset with nothing given over it. */
    public static ProtocolSettings of(Protocol.Preset preset) {
        return new ProtocolSettings(preset.label(), null, false, null, null, null, null, null, null);
    }

    /** The named preset; bad input naming {@code --protocol} when there is none. */
    public Protocol.Preset namedPreset() {
        Protocol.Preset named = Protocol.Preset.byLabel(preset);
        if (named == null) {
            throw new BadInputException(
                    "--protocol " + preset + ": unknown preset; one of " + Protocol.Preset.labels());
        }
        return named;
    }

    /** The decoding settings: the preset's with every given setting applied; values out of range are bad input. */
    public Sampling sampling() {
        return resolve(null).sampling();
    }

    /**
     * The protocol for a model (its name or type decides whether the preset sends a system turn), with every setting
     * given that differs from the preset's recorded as an override, in option order.
     */
    public Protocol resolve(String modelName) {
        Protocol base = namedPreset().protocol(modelName);
        Sampling p = base.sampling();
        List<String> overrides = new ArrayList<>();
        String system = base.systemPrompt();
        if (noSystemPrompt && systemPrompt != null) {
            throw new BadInputException("--system and --no-system-prompt exclude each other");
        }
        if (noSystemPrompt) {
            system = null;
            overrides.add("--no-system-prompt");
        } else if (systemPrompt != null) {
            system = systemPrompt;
            overrides.add("--system " + systemPrompt);
        }
        // Sampling refuses values out of range as bad input; the overrides are recorded in option order.
        Sampling given = p.withTemperature(override(overrides, "--temperature", temperature, p.temperature()))
                .withTopP(override(overrides, "--top-p", topP, p.topP()))
                .withTopK(override(overrides, "--top-k", topK, p.topK()))
                .withMaxNewTokens(override(overrides, "--max-new-tokens", maxNewTokens, p.maxNewTokens()))
                .withRepetitionPenalty(
                        override(overrides, "--repetition-penalty", repetitionPenalty, p.repetitionPenalty()))
                .withSeed(override(overrides, "--seed", seed, p.seed()));
        return new Protocol(base.preset(), system, given, overrides);
    }

    /** The given value (recorded when it differs from the preset's) or the preset's. */
    private static <T> T override(List<String> overrides, String option, T given, T preset) {
        if (given == null) {
            return preset;
        }
        if (!given.equals(preset)) {
            overrides.add(option + " " + given);
        }
        return given;
    }
}
