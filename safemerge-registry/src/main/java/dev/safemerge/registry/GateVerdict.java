package dev.safemerge.registry;

/**
 * A stored gate verdict: {@code outcome} is pass, fail or inconclusive; {@code verdictJson} the full verdict;
 * {@code prompt} the prompt version the gate ran with, or null.
 */
public record GateVerdict(
        long id,
        VersionRef model,
        VersionRef baseline,
        String suite,
        String suiteHash,
        String outcome,
        String verdictJson,
        String createdAt,
        String actor,
        VersionRef prompt) {
    public boolean passed() {
        return outcome.equals("pass");
    }
}
