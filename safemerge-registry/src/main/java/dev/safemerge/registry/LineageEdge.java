package dev.safemerge.registry;

/** One parent link in a version's ancestry; depth 1 for direct parents. */
public record LineageEdge(VersionRef child, VersionRef parent, ModelKind parentKind, int depth) {}
