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
    /**
     * The suite of the verdict {@code safeguard --registry} records for the version a sweep selected (a pass against
     * the base, so that an alias can move to it); the dashboard marks a sweep's selection by it.
     */
    public static final String SELECTION = "safeguard-selection";

    public boolean passed() {
        return outcome.equals("pass");
    }
}
