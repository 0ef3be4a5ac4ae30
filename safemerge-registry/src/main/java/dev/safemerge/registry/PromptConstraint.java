package dev.safemerge.registry;

/** A safety constraint a prompt version carries: {@code metric} (asr or over_refusal) at most {@code max} on a suite. */
public record PromptConstraint(String suite, String metric, double max) {}
