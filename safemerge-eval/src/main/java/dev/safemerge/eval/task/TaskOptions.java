package dev.safemerge.eval.task;

import dev.safemerge.eval.sandbox.PythonSandbox;
import java.nio.file.Path;
import java.util.List;

/**
 * Settings a metric may use while loading and scoring.
 *
 * @param promptField field holding the prompt in generic files, or null for the metric's default
 * @param answerField field holding the reference, or null for the metric's default
 * @param systemPrompt the protocol's system prompt, or null when the model gets none (Gemma)
 * @param ks the k of pass@k (HumanEval)
 */
public record TaskOptions(
        String promptField,
        String answerField,
        String systemPrompt,
        List<Integer> ks,
        Path python,
        PythonSandbox.Limits sandboxLimits) {}
