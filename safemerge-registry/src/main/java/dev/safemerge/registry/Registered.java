package dev.safemerge.registry;

/** The outcome of a registration: the version, and whether it was new (false: the same content was there). */
public record Registered<T>(T value, boolean created) {}
