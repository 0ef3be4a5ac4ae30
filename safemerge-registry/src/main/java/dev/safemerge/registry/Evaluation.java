package dev.safemerge.registry;

/**
 * A recorded evaluation. {@code supersededBy} is the later evaluation of the same suite that changed judge, prompts or
 * protocol (then this one is no longer comparable), or null.
 */
public record Evaluation(
        long id,
        VersionRef model,
        VersionRef prompt,
        String kind,
        String suite,
        String suiteHash,
        String judge,
        String promptsHash,
        String comparabilityKey,
        String metric,
        Double value,
        int n,
        Double ciLow,
        Double ciHigh,
        Long supersededBy,
        String createdAt,
        String actor) {}
