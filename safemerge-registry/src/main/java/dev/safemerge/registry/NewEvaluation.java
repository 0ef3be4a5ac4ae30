package dev.safemerge.registry;

import java.util.List;

/**
 * An evaluation to record with a model version (and the prompt version it ran with, or null). {@code kind} is
 * {@code safety} (metric {@code asr}), {@code over-refusal} (metric {@code refusal_rate}) or {@code task} (the metric's
 * name). The suite, judge, prompts and protocol hashes decide comparability: only evaluations whose judge, prompts and
 * protocol (seed, decoding, system prompt) hashes all agree are ever compared. {@code value} and its interval are null
 * when undefined (nothing judged).
 */
public record NewEvaluation(
        VersionRef model,
        VersionRef prompt,
        String kind,
        String suite,
        String suiteHash,
        String judge,
        String judgeHash,
        String promptsHash,
        String protocolHash,
        Long seed,
        String metric,
        Double value,
        int n,
        Double ciLow,
        Double ciHigh,
        String summaryJson,
        List<CategoryRate> categories,
        List<EvaluationItem> items) {
    public NewEvaluation {
        categories = List.copyOf(categories);
        items = List.copyOf(items);
    }
}
