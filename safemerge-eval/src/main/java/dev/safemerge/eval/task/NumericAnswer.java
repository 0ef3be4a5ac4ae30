package dev.safemerge.eval.task;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.safemerge.eval.Json;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code numeric}: GSM8K-style final-number scoring as lm-evaluation-harness's gsm8k task does it. Two extractions:
 * strict-match takes the first number after {@code "#### "}; flexible-extract takes the last number-like span. Both
 * sides then lose commas, dollar signs, everything up to {@code "#### "} and a final period, are lower-cased, and must
 * be equal. The reference may be a full GSM8K solution ending in {@code #### N} or just the number.
 */
public final class NumericAnswer implements TaskMetric {
    static final String INVALID = "[invalid]";
    private static final Pattern STRICT = Pattern.compile("#### (\\-?[0-9\\.\\,]+)");
    private static final Pattern FLEXIBLE = Pattern.compile("(-?[$0-9.,]{2,})|(-?[0-9]+)");
    private static final List<Pattern> IGNORED = List.of(
            Pattern.compile(","), Pattern.compile("\\$"), Pattern.compile("(?s).*#### "), Pattern.compile("\\.$"));

    @Override
    public String name() {
        return "numeric";
    }

    @Override
    public List<TaskItem> load(Path path, TaskOptions options) {
        return ExactMatch.loadPromptAnswer(path, options);
    }

    static String strict(String response) {
        Matcher m = STRICT.matcher(response);
        return m.find() ? m.group(1) : INVALID;
    }

    static String flexible(String response) {
        Matcher m = FLEXIBLE.matcher(response);
        String last = null;
        while (m.find()) {
            last = m.group(1) != null ? m.group(1) : m.group(2);
        }
        return last == null ? INVALID : last;
    }

    /** The harness's exact_match with ignore_case and the gsm8k regexes_to_ignore. */
    static String normalize(String s) {
        String out = s;
        for (Pattern p : IGNORED) {
            out = p.matcher(out).replaceAll("");
        }
        return out.toLowerCase(Locale.ROOT);
    }

    @Override
    public ObjectNode score(TaskItem item, List<String> responses) {
        String reference = normalize(item.data().get("reference").asText());
        String response = responses.getFirst();
        String strict = strict(response);
        String flexible = flexible(response);
        ObjectNode score = Json.object();
        score.put("reference", reference);
        score.put("strict_extracted", strict);
        score.put("flexible_extracted", flexible);
        score.put("score", normalize(strict).equals(reference) ? 1.0 : 0.0);
        score.put("flexible_match", normalize(flexible).equals(reference) ? 1.0 : 0.0);
        return score;
    }

    @Override
    public ObjectNode summarize(List<TaskItem> items, List<ObjectNode> scores) {
        ObjectNode summary = Means.base(items);
        Means.addMeans(summary, items, scores, "score");
        summary.put("flexible_match", Means.mean(scores, "flexible_match"));
        summary.put("metric", "score = exact_match,strict-match; flexible_match = exact_match,flexible-extract");
        return summary;
    }
}
