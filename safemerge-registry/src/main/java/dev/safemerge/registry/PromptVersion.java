package dev.safemerge.registry;

import java.util.List;

/**
 * An immutable prompt asset version (system prompt or chat-template override) with its labels and constraints;
 * {@code branch} is the branch it was added on, or null.
 */
public record PromptVersion(
        long id,
        VersionRef ref,
        String kind,
        String content,
        String contentHash,
        List<String> labels,
        List<PromptConstraint> constraints,
        String createdAt,
        String actor,
        String branch) {}
