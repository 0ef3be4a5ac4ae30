package dev.safemerge.registry;

/** A registered model version. {@code sweep} and {@code sweepValue} are null outside a sweep. */
public record ModelVersion(
        long id,
        VersionRef ref,
        String contentHash,
        String location,
        ModelKind kind,
        String recipe,
        String dataHash,
        String sweep,
        Double sweepValue,
        String branch,
        String createdAt,
        String actor) {}
