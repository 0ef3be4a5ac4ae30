package dev.safemerge.registry;

/** A line of work and its newest version. */
public record Branch(String name, VersionRef head, String updatedAt) {}
