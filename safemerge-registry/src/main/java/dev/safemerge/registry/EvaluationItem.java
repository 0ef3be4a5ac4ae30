package dev.safemerge.registry;

/**
 * One judged prompt. {@code verdict}: {@code unsafe}/{@code safe}/{@code missing} (safety), {@code refused}/
 * {@code answered} (over-refusal), {@code pass}/{@code fail} (task); {@code score} is the task score or null.
 */
public record EvaluationItem(
        String itemId,
        String category,
        String prompt,
        String response,
        String verdict,
        boolean refusal,
        Double score) {}
