package dev.safemerge.registry;

/** A tag on a model version; automatic tags name the evaluation they were computed from. */
public record Tag(VersionRef model, String tag, Long evaluationId, boolean automatic, String createdAt, String actor) {}
