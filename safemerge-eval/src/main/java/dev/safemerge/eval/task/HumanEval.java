package dev.safemerge.eval.task;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.safemerge.eval.Json;
import dev.safemerge.eval.data.Records;
import dev.safemerge.eval.sandbox.PythonSandbox;
import dev.safemerge.eval.stats.PassAtK;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code humaneval}: functional correctness with the unbiased pass@k estimator. Records are HumanEval's
 * ({@code task_id, prompt, test, entry_point}, JSONL or JSONL.gz). As in the study, the model gets the prompt as the
 * user turn with an instruction to return only the completed code; the completion is the body of the first
 * {@code ```python} block of the reply, or the whole stripped reply. The program {@code prompt + completion + "\n" +
 * test + "\n" + "check(entry_point)"} runs in the {@link PythonSandbox}; it passes only when {@code check} ran to
 * its end (an early {@code sys.exit(0)} in the completion fails).
 */
public final class HumanEval implements TaskMetric {
    static final String INSTRUCTION =
            "Complete the following code and return only the completed code, without any explanations or additional text.";
    private static final Pattern PYTHON_BLOCK = Pattern.compile("(?s)```python\\s*\\n(.*?)```");

    private PythonSandbox sandbox;
    private List<Integer> ks = List.of(1, 10);

    @Override
    public String name() {
        return "humaneval";
    }

    @Override
    public List<TaskItem> load(Path path, TaskOptions options) {
        sandbox = new PythonSandbox(options.python(), options.sandboxLimits());
        sandbox.checkAvailable();
        ks = options.ks();
        List<TaskItem> items = new ArrayList<>();
        for (Records.Row row : Records.read(path)) {
            ObjectNode data = Json.object();
            String taskId = row.text("task_id");
            String prompt = row.string("prompt");
            data.put("prompt", prompt);
            data.put("test", row.string("test"));
            data.put("entry_point", row.string("entry_point"));
            items.add(new TaskItem(
                    taskId,
                    taskId,
                    "",
                    Prompts.chatWithInstruction(options.systemPrompt(), INSTRUCTION, "\n", prompt),
                    data));
        }
        return items;
    }

    /**
     * The study's post-processing of a reply into a completion: the first {@code ```python} block, else the whole
     * reply. The study strips the result; here only blank leading lines and trailing whitespace go, because stripping
     * the first line's indentation breaks completions that are a function body (as HumanEval sample files hold).
     */
    static String completion(String reply) {
        Matcher m = PYTHON_BLOCK.matcher(reply);
        String code = m.find() ? m.group(1) : reply;
        return code.replaceFirst("^(?:[ \\t]*\\r?\\n)+", "").stripTrailing();
    }

    static String program(String prompt, String completion, String test, String entryPoint) {
        return prompt + completion + "\n" + test + "\n" + "check(" + entryPoint + ")";
    }

    @Override
    public ObjectNode score(TaskItem item, List<String> responses) {
        ObjectNode score = Json.object();
        ArrayNode results = score.putArray("samples");
        int passed = 0;
        for (String response : responses) {
            PythonSandbox.Result result = sandbox.run(program(
                    item.data().get("prompt").asText(),
                    completion(response),
                    item.data().get("test").asText(),
                    item.data().get("entry_point").asText()));
            passed += result.passed() ? 1 : 0;
            ObjectNode sample = results.addObject();
            sample.put("result", result.status().name().toLowerCase(java.util.Locale.ROOT));
            if (!result.passed()) {
                String detail = result.detail();
                sample.put("detail", detail.length() > 300 ? detail.substring(detail.length() - 300) : detail);
            }
        }
        score.put("n", responses.size());
        score.put("passed", passed);
        score.put("score", (double) passed / responses.size());
        return score;
    }

    @Override
    public ObjectNode summarize(List<TaskItem> items, List<ObjectNode> scores) {
        ObjectNode summary = Means.base(items);
        int minSamples = Integer.MAX_VALUE;
        for (ObjectNode s : scores) {
            minSamples = Math.min(minSamples, s.get("n").asInt());
        }
        for (int k : ks) {
            if (scores.isEmpty()) {
                summary.putNull("pass@" + k);
                continue;
            }
            if (k > minSamples) {
                continue;
            }
            double sum = 0;
            for (ObjectNode s : scores) {
                sum += PassAtK.estimate(s.get("n").asInt(), s.get("passed").asInt(), k);
            }
            summary.put("pass@" + k, sum / scores.size());
        }
        summary.put("samples_per_problem", scores.isEmpty() ? 0 : minSamples);
        summary.put("score", Means.mean(scores, "score"));
        summary.put("metric", "pass@k (unbiased estimator, reported for k <= samples); score = mean pass rate");
        return summary;
    }
}
