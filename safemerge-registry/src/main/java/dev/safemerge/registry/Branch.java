package dev.safemerge.registry;

/**
 * A line of work (a base, its fine-tunes, merges and prompt edits): its newest model version ({@code head}), its newest
 * prompt version ({@code headPrompt}, null until a prompt is added on it) and the version it started from.
 */
public record Branch(
        String name,
        VersionRef head,
        String updatedAt,
        VersionRef base,
        VersionRef headPrompt,
        String createdAt,
        String actor) {}
