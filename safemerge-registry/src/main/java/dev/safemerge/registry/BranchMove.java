package dev.safemerge.registry;

/**
 * One move of a branch's heads: {@code action} is {@code create}, {@code model} (a version added on it) or
 * {@code prompt} (a prompt version added on it); {@code model} and {@code prompt} are the heads after the move.
 */
public record BranchMove(
        long id, String branch, String action, VersionRef model, VersionRef prompt, String at, String actor) {}
