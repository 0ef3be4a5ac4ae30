package dev.safemerge.safeguard;

import com.fasterxml.jackson.databind.JsonNode;
import dev.safemerge.eval.Json;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * DIR/report.html: one self-contained page (inline SVG plots, no scripts, no external resources) with the study's
 * table, the plots, the harmful prompts whose verdicts differ between base, fine-tuned and selected variant, and
 * the configuration. Model answers and prompts are untrusted and always escaped.
 */
final class Report {
    /** At most this many differing prompts per safety set are shown (all are in the items files). */
    static final int MAX_DIFFERENCES = 50;

    private Report() {}

    static String html(JsonNode summary, Path out) {
        StringBuilder h = new StringBuilder();
        h.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
                .append("<title>safemerge safeguard report</title><style>")
                .append("body{font-family:sans-serif;margin:2em;max-width:80em}table{border-collapse:collapse}")
                .append("td,th{border:1px solid #ccc;padding:.25em .5em;vertical-align:top}")
                .append("tr.selected{background:#e6f4e6}pre{white-space:pre-wrap;margin:0}")
                .append(".plots{display:flex;flex-wrap:wrap;gap:1em}</style></head><body>\n");
        h.append("<h1>safemerge safeguard</h1>\n");
        String selected =
                summary.path("selected").isTextual() ? summary.path("selected").asText() : null;
        h.append("<p>Selected: <b>")
                .append(selected == null ? "none" : escape(selected))
                .append("</b> — rule <code>")
                .append(escape(summary.path("rule").asText()))
                .append("</code>: ")
                .append(escape(summary.path("rule_detail").asText()))
                .append(". Judge: <code>")
                .append(escape(summary.path("judge").asText()))
                .append("</code>.</p>\n");
        table(h, summary, selected);
        h.append("<h2>Plots</h2><div class=\"plots\">\n");
        h.append(Plots.svg(byLambda(summary, "ASR vs λ", "ASR", v -> number(v.path("asr")))));
        h.append(Plots.svg(byLambda(summary, "Task score vs λ", "task score", v -> number(v.path("task_score")))));
        h.append(Plots.svg(tradeOff(summary, selected)));
        h.append("</div>\n");
        differences(h, summary, selected, out);
        h.append("<h2>Configuration</h2>\n<pre>")
                .append(escape(Json.pretty(summary.path("plan"))))
                .append("</pre>\n<h3>Protocol</h3><pre>")
                .append(escape(Json.pretty(summary.path("protocol"))))
                .append("</pre>\n<h3>Content hashes of the inputs</h3><pre>")
                .append(escape(Json.pretty(summary.path("inputs"))))
                .append("</pre>\n<h3>Versions</h3><pre>")
                .append(escape(Json.pretty(summary.path("versions"))))
                .append("</pre>\n<h3>Timings (seconds)</h3><pre>")
                .append(escape(Json.pretty(summary.path("timings_seconds"))))
                .append("</pre>\n</body></html>\n");
        return h.toString();
    }

    private static void table(StringBuilder h, JsonNode summary, String selected) {
        JsonNode variants = summary.path("variants");
        List<String> safetySets = new ArrayList<>();
        List<String> taskSets = new ArrayList<>();
        if (!variants.isEmpty()) {
            variants.get(0).path("asr_by_set").fieldNames().forEachRemaining(safetySets::add);
            variants.get(0).path("task_by_set").fieldNames().forEachRemaining(taskSets::add);
        }
        h.append("<h2>Results</h2><p>Rates with their 95% Wilson interval and N (ASR: N − missing judged answers);")
                .append(" n/a = undefined (nothing judged).</p>\n<table><tr><th>variant</th><th>method</th><th>λ</th>")
                .append("<th>ASR (pooled)</th>");
        safetySets.forEach(s -> h.append("<th>ASR ").append(escape(s)).append("</th>"));
        h.append("<th>miss rate</th><th>over-refusal</th><th>task score</th>");
        taskSets.forEach(t -> h.append("<th>task ").append(escape(t)).append("</th>"));
        h.append("</tr>\n");
        for (JsonNode v : variants) {
            String name = v.path("name").asText();
            h.append(name.equals(selected) ? "<tr class=\"selected\">" : "<tr>")
                    .append("<td>")
                    .append(escape(name))
                    .append("</td><td>")
                    .append(escape(v.path("method").asText("—")))
                    .append("</td><td>")
                    .append(number(number(v.path("lambda"))))
                    .append("</td><td>")
                    .append(cell(
                            v.path("asr"), v.path("asr_ci"), v.path("asr_n").asInt()))
                    .append("</td>");
            for (String set : safetySets) {
                JsonNode s = v.path("asr_by_set").path(set);
                h.append("<td>")
                        .append(cell(
                                s.path("asr"),
                                s.path("asr_ci"),
                                s.path("N").asInt() - s.path("missing").asInt()))
                        .append("</td>");
            }
            h.append("<td>")
                    .append(number(number(v.path("miss_rate"))))
                    .append(" (N ")
                    .append(v.path("N").asInt())
                    .append(")</td><td>")
                    .append(
                            v.path("over_refusal_n").isMissingNode()
                                    ? "—"
                                    : cell(
                                            v.path("over_refusal"),
                                            v.path("over_refusal_ci"),
                                            v.path("over_refusal_n").asInt()))
                    .append("</td><td>")
                    .append(number(number(v.path("task_score"))))
                    .append("</td>");
            for (String set : taskSets) {
                JsonNode t = v.path("task_by_set").path(set);
                h.append("<td>")
                        .append(
                                t.has("score_ci")
                                        ? cell(
                                                        t.path("score"),
                                                        t.path("score_ci"),
                                                        t.path("n").asInt()) + " ("
                                        : number(number(t.path("score"))) + " (n ")
                        .append(t.has("score_ci") ? "proportion" : t.path("n").asInt())
                        .append(
                                t.has("validation_score")
                                        ? "; validation " + number(number(t.path("validation_score"))) + ", n "
                                                + t.path("validation_n").asInt()
                                        : "")
                        .append(")</td>");
            }
            h.append("</tr>\n");
        }
        h.append("</table>\n");
    }

    private static String cell(JsonNode rate, JsonNode ci, int n) {
        if (!rate.isNumber()) {
            return "n/a (N " + n + ")";
        }
        return String.format(
                Locale.ROOT,
                "%.3f [%.3f, %.3f] (N %d)",
                rate.asDouble(),
                ci.get(0).asDouble(),
                ci.get(1).asDouble(),
                n);
    }

    /** A markdown table row for a rate: measure, value, interval, N. */
    static String rateRow(String measure, Rate rate) {
        if (!rate.known()) {
            return "| " + measure + " | n/a | | 0 |\n";
        }
        var ci = rate.interval();
        return String.format(
                Locale.ROOT, "| %s | %.4f | %.4f–%.4f | %d |%n", measure, rate.value(), ci.low(), ci.high(), rate.n());
    }

    static String number(Double value) {
        return value == null ? "n/a" : String.format(Locale.ROOT, "%.3f", value);
    }

    private static Double number(JsonNode node) {
        return node.isNumber() ? node.asDouble() : null;
    }

    private interface Measure {
        Double of(JsonNode variant);
    }

    /** One series per method over λ, with the base at λ = 0 and the fine-tuned model at λ = 1 as their ends. */
    private static XYChart byLambda(JsonNode summary, String title, String yTitle, Measure measure) {
        XYChart chart = Plots.chart(title, "λ", yTitle);
        Map<String, List<double[]>> series = new LinkedHashMap<>();
        Double base = null;
        Double tuned = null;
        for (JsonNode v : summary.path("variants")) {
            Double y = measure.of(v);
            String name = v.path("name").asText();
            if (name.equals(VariantResult.BASE)) {
                base = y;
            } else if (name.equals(VariantResult.FINETUNED)) {
                tuned = y;
            } else if (y != null && v.path("lambda").isNumber()) {
                series.computeIfAbsent(v.path("method").asText(), m -> new ArrayList<>())
                        .add(new double[] {v.path("lambda").asDouble(), y});
            }
        }
        for (var entry : series.entrySet()) {
            List<double[]> points = new ArrayList<>();
            if (base != null) {
                points.add(new double[] {0, base});
            }
            points.addAll(entry.getValue());
            if (tuned != null) {
                points.add(new double[] {1, tuned});
            }
            points.sort((a, b) -> Double.compare(a[0], b[0]));
            Plots.add(chart, entry.getKey(), points);
        }
        if (series.isEmpty() && base != null && tuned != null) {
            Plots.add(chart, "base → fine-tuned", List.of(new double[] {0, base}, new double[] {1, tuned}));
        }
        return chart;
    }

    /** Task score against ASR for every variant, the Pareto front as a line, the selection marked. */
    private static XYChart tradeOff(JsonNode summary, String selected) {
        XYChart chart = Plots.chart("Task score vs ASR", "ASR", "task score");
        List<double[]> all = new ArrayList<>();
        List<double[]> front = new ArrayList<>();
        List<double[]> chosen = new ArrayList<>();
        List<String> frontNames = new ArrayList<>();
        summary.path("pareto_front").forEach(n -> frontNames.add(n.asText()));
        for (JsonNode v : summary.path("variants")) {
            Double x = number(v.path("asr"));
            Double y = number(v.path("task_score"));
            if (x == null || y == null) {
                continue;
            }
            double[] point = {x, y};
            all.add(point);
            if (frontNames.contains(v.path("name").asText())) {
                front.add(point);
            }
            if (v.path("name").asText().equals(selected)) {
                chosen.add(point);
            }
        }
        front.sort((a, b) -> Double.compare(a[0], b[0]));
        Plots.add(chart, "variants", all).setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
        Plots.add(chart, "Pareto front", front);
        Plots.add(chart, "selected", chosen)
                .setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter)
                .setMarker(SeriesMarkers.DIAMOND);
        return chart;
    }

    /** Harmful prompts whose verdicts differ between base, fine-tuned and selected, with the answers side by side. */
    private static void differences(StringBuilder h, JsonNode summary, String selected, Path out) {
        h.append("<h2>Verdicts that differ</h2>\n");
        List<String> names = new ArrayList<>(List.of(VariantResult.BASE, VariantResult.FINETUNED));
        if (selected != null && !names.contains(selected)) {
            names.add(selected);
        }
        JsonNode variants = summary.path("variants");
        if (variants.isEmpty()) {
            return;
        }
        for (var it = variants.get(0).path("asr_by_set").fieldNames(); it.hasNext(); ) {
            String set = it.next();
            List<List<JsonNode>> items = new ArrayList<>();
            for (String name : names) {
                items.add(items(out.resolve("eval")
                        .resolve(name)
                        .resolve("safety")
                        .resolve(set)
                        .resolve("items.jsonl")));
            }
            int count = items.stream().mapToInt(List::size).min().orElse(0);
            StringBuilder rows = new StringBuilder();
            int shown = 0;
            int differing = 0;
            for (int i = 0; i < count; i++) {
                int index = i;
                long verdicts = items.stream()
                        .map(list -> list.get(index).path("verdict").asText())
                        .distinct()
                        .count();
                if (verdicts < 2) {
                    continue;
                }
                differing++;
                if (shown++ >= MAX_DIFFERENCES) {
                    continue;
                }
                rows.append("<tr><td><pre>")
                        .append(escape(items.get(0).get(i).path("prompt").asText()))
                        .append("</pre></td>");
                for (List<JsonNode> list : items) {
                    rows.append("<td><b>")
                            .append(escape(list.get(i).path("verdict").asText()))
                            .append("</b><pre>")
                            .append(escape(list.get(i).path("response").asText()))
                            .append("</pre></td>");
                }
                rows.append("</tr>\n");
            }
            h.append("<h3>")
                    .append(escape(set))
                    .append(": ")
                    .append(differing)
                    .append(" of ")
                    .append(count)
                    .append(" prompts")
                    .append(differing > MAX_DIFFERENCES ? " (first " + MAX_DIFFERENCES + " shown)" : "")
                    .append("</h3>\n");
            if (differing > 0) {
                h.append("<table><tr><th>prompt</th>");
                names.forEach(n -> h.append("<th>").append(escape(n)).append("</th>"));
                h.append("</tr>\n").append(rows).append("</table>\n");
            }
        }
    }

    private static List<JsonNode> items(Path file) {
        if (!Files.isRegularFile(file)) {
            return List.of();
        }
        try {
            List<JsonNode> out = new ArrayList<>();
            for (String line : Files.readAllLines(file)) {
                if (!line.isBlank()) {
                    out.add(Json.MAPPER.readTree(line));
                }
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
    }

    /** HTML-escapes text for element content and attribute values. */
    static String escape(String text) {
        StringBuilder s = new StringBuilder(text.length());
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            switch (c) {
                case '&' -> s.append("&amp;");
                case '<' -> s.append("&lt;");
                case '>' -> s.append("&gt;");
                case '"' -> s.append("&quot;");
                case '\'' -> s.append("&#39;");
                default -> s.append(c);
            }
        }
        return s.toString();
    }
}
