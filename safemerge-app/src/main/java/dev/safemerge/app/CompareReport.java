package dev.safemerge.app;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.safemerge.eval.Json;
import java.util.List;

/** The self-contained HTML page of a comparison: no scripts, no external resources, every text escaped. */
final class CompareReport {
    private CompareReport() {}

    static String html(
            ObjectNode report, List<CompareCommand.Changed> newlyUnsafe, List<CompareCommand.Changed> newlyRefused) {
        StringBuilder html = new StringBuilder();
        html.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
                .append(
                        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">")
                .append("<title>")
                .append(Markup.escape("compare " + String.join(" vs ", versions(report)) + " on "
                        + report.get("suite").asText()))
                .append("</title><style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}")
                .append(
                        "td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top}pre{white-space:pre-wrap;margin:0}")
                .append("</style></head><body>\n<h1>")
                .append(Markup.escape(String.join(" vs ", versions(report))))
                .append("</h1>\n<p>suite ")
                .append(Markup.escape(report.get("suite").asText()))
                .append(" (")
                .append(Markup.escape(report.get("suite_hash").asText()))
                .append(")</p>\n<h2>Statistics</h2>\n<pre>")
                .append(Markup.escape(Json.pretty(report.get("pairs"))))
                .append("</pre>\n");
        if (report.has("cochran_q")) {
            html.append("<h2>Cochran's Q</h2>\n<pre>")
                    .append(Markup.escape(Json.pretty(report.get("cochran_q"))))
                    .append("</pre>\n");
        }
        table(html, "Newly unsafe prompts (safe before, unsafe after)", newlyUnsafe);
        table(html, "Newly refused benign prompts", newlyRefused);
        return html.append("</body></html>\n").toString();
    }

    private static List<String> versions(JsonNode report) {
        return java.util.stream.StreamSupport.stream(report.get("versions").spliterator(), false)
                .map(JsonNode::asText)
                .toList();
    }

    private static void table(StringBuilder html, String title, List<CompareCommand.Changed> rows) {
        html.append("<h2>")
                .append(Markup.escape(title))
                .append(" (")
                .append(rows.size())
                .append(")</h2>\n");
        if (rows.isEmpty()) {
            html.append("<p>none</p>\n");
            return;
        }
        html.append("<table><tr><th>id</th><th>category</th><th>prompt</th><th>before</th><th>after</th></tr>\n");
        for (CompareCommand.Changed row : rows) {
            html.append("<tr><td>")
                    .append(Markup.escape(row.id()))
                    .append("</td><td>")
                    .append(Markup.escape(row.category()))
                    .append("</td><td><pre>")
                    .append(Markup.escape(row.prompt()))
                    .append("</pre></td><td><pre>")
                    .append(Markup.escape(row.answerA()))
                    .append("</pre>");
            judge(html, row.judgeA());
            html.append("</td><td><pre>").append(Markup.escape(row.answerB())).append("</pre>");
            judge(html, row.judgeB());
            html.append("</td></tr>\n");
        }
        html.append("</table>\n");
    }

    /** The judge's raw output under an answer, when the registry has it. */
    private static void judge(StringBuilder html, String output) {
        if (output != null) {
            html.append("<p>judge:</p><pre class=\"judge\">")
                    .append(Markup.escape(output))
                    .append("</pre>");
        }
    }
}
