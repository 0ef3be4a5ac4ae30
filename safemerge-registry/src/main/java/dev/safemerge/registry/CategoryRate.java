package dev.safemerge.registry;

/** A rate within one category: {@code hits} of {@code n}, the value (null when n is 0) and its 95% interval. */
public record CategoryRate(String category, int n, int hits, Double value, Double ciLow, Double ciHigh) {}
