package dev.safemerge.eval.data;

import dev.safemerge.tensor.BadInputException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Answers produced elsewhere, to be scored without generating: JSONL (or JSON/CSV) records with a {@code prompt} and a
 * {@code response} (also {@code answer}, as the study's generation files name it; {@code task_id} + {@code completion}
 * for HumanEval sample files). Several records for one prompt are several samples, in file order.
 */
public final class RecordedResponses {
    private final Path file;
    private final Map<String, List<String>> byPrompt = new HashMap<>();

    private RecordedResponses(Path file) {
        this.file = file;
    }

    public static RecordedResponses load(Path file) {
        RecordedResponses recorded = new RecordedResponses(file);
        for (Records.Row row : Records.read(file)) {
            String key = row.node().has("prompt") ? row.string("prompt") : row.textOr("task_id", null);
            if (key == null) {
                throw new BadInputException(row.where() + ": missing field 'prompt'");
            }
            String response = row.node().has("response")
                    ? row.string("response")
                    : row.node().has("answer")
                            ? row.string("answer")
                            : row.node().has("completion") ? row.string("completion") : null;
            if (response == null) {
                throw new BadInputException(row.where() + ": missing field 'response'");
            }
            recorded.byPrompt.computeIfAbsent(key, k -> new ArrayList<>()).add(response);
        }
        return recorded;
    }

    /** The recorded responses for a prompt (or task id); an error naming the file when there are none. */
    public List<String> responses(String prompt) {
        List<String> found = byPrompt.get(prompt);
        if (found == null) {
            String shown = prompt.length() > 80 ? prompt.substring(0, 80) + "…" : prompt;
            throw new BadInputException(file + ": no response for prompt '" + shown.replace('\n', ' ') + "'");
        }
        return found;
    }

    public String first(String prompt) {
        return responses(prompt).getFirst();
    }
}
