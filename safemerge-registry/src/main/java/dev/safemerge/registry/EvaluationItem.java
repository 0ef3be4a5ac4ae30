package dev.safemerge.registry;

/**
 * One judged prompt. {@code verdict}: {@code unsafe}/{@code safe}/{@code missing} (safety), {@code refused}/
 * {@code answered} (over-refusal), {@code pass}/{@code fail} (task); {@code score} is the task score or null;
 * {@code judgeOutput} is the judge's raw output the verdict was read from, or null (a task item, or an item recorded
 * before the registry kept it).
 */
public record EvaluationItem(
        String itemId,
        String category,
        String prompt,
        String response,
        String verdict,
        boolean refusal,
        Double score,
        String judgeOutput) {}
