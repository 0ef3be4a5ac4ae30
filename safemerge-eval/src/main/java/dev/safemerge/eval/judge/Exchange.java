package dev.safemerge.eval.judge;

/** A request and the model's response to it, as a judge sees them. */
public record Exchange(String prompt, String response) {}
