package dev.safemerge.eval.task;

import com.fasterxml.jackson.databind.JsonNode;
import dev.safemerge.eval.gen.GenerationRequest;

/**
 * One task example.
 *
 * @param key how answers produced elsewhere are looked up (the user-visible prompt, or a task id)
 * @param group subtask for per-group averages ("" when the set has none)
 * @param data the example's fields (reference answer, tests, …) as loaded
 */
public record TaskItem(String id, String key, String group, GenerationRequest request, JsonNode data) {}
