package dev.safemerge.registry;

/** A sweep: the variants of one merge method over the swept value (λ), with the settings it was run with. */
public record Sweep(String name, String method, String settings, String createdAt, String actor) {}
