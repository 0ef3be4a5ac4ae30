package dev.safemerge.eval.data;

/** One prompt of a safety set: a stable id (file:line or BehaviorID), the request text and its category. */
public record PromptItem(String id, String prompt, String category) {}
