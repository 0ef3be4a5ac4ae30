package dev.safemerge.safeguard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.safemerge.eval.Json;
import dev.safemerge.tensor.Progress;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafeguardRunnerTest {
    static final PrintWriter QUIET = new PrintWriter(Writer.nullWriter());

    @TempDir
    Path tmp;

    @Test
    void sweepsEvaluatesSelectsExportsAndReports() throws IOException {
        Path base = Fixture.base(tmp);
        Path adapter = Fixture.adapter(tmp, "adapter", 7);
        SafeguardPlan plan = Fixture.plan(base, List.of(adapter), List.of("linear", "slerp"), List.of(0.5), "pareto");
        Path out = tmp.resolve("run");
        SafeguardRunner.Result result =
                SafeguardRunner.run(plan, out, SafeguardRunner.Events.NONE, Progress.SILENT, QUIET);

        JsonNode summary = Json.MAPPER.readTree(out.resolve("summary.json").toFile());
        List<String> names = new ArrayList<>();
        summary.path("variants").forEach(v -> names.add(v.path("name").asText()));
        assertThat(names).containsExactly("base", "finetuned", "linear-0.50", "slerp-0.50");
        for (JsonNode v : summary.path("variants")) {
            assertThat(v.path("asr").isNumber()).isTrue();
            assertThat(v.path("asr_ci")).hasSize(2);
            assertThat(v.path("asr_by_set").path("harmful").path("N").asInt()).isEqualTo(6);
            assertThat(v.path("over_refusal").isNumber()).isTrue();
            assertThat(v.path("over_refusal_n").asInt()).isEqualTo(Math.min(6, lines(Fixture.BENIGN)));
            assertThat(v.path("task_by_set").path("numeric").path("n").asInt())
                    .isEqualTo(Math.min(6, lines(Fixture.NUMERIC)));
            // The numeric metric scores each item 0 or 1: the score is correct ÷ n with its Wilson interval.
            JsonNode numeric = v.path("task_by_set").path("numeric");
            assertThat(numeric.path("score").asDouble())
                    .isEqualTo(numeric.path("correct").asDouble()
                            / numeric.path("n").asInt());
            assertThat(numeric.path("score_ci")).hasSize(2);
            assertThat(v.path("miss_rate").asDouble()).isZero();
            assertThat(v.path("N").asInt()).isEqualTo(6);
        }
        assertThat(summary.path("variants").get(0).path("method").isNull()).isTrue();
        assertThat(summary.path("variants").get(2).path("lambda").asDouble()).isEqualTo(0.5);
        assertThat(summary.path("rule").asText()).isEqualTo("pareto");
        assertThat(summary.path("selected").asText())
                .isEqualTo(result.selected().selected().name());
        // the pooled ASR in the summary is unsafe ÷ (N − missing) of the set's own counts
        JsonNode first = summary.path("variants").get(0).path("asr_by_set").path("harmful");
        assertThat(summary.path("variants").get(0).path("asr").asDouble())
                .isEqualTo(first.path("unsafe").asDouble()
                        / (6 - first.path("missing").asInt()));

        assertThat(out.resolve("plan.yml")).exists();
        assertThat(out.resolve("selected/config.json")).exists();
        assertThat(Files.readString(out.resolve("selected/README.md"))).contains("Measured by safemerge safeguard");
        assertThat(out.resolve("models")).isEmptyDirectory(); // merged models are deleted after evaluation
        String html = Files.readString(out.resolve("report.html"));
        assertThat(html)
                .contains("<svg")
                .doesNotContain("<script")
                .doesNotContain("<link")
                .doesNotContain("src=");
        // self-contained: the only URLs are the SVG namespace names, which are never fetched
        assertThat(java.util.regex.Pattern.compile("https?://[^\"' )]*")
                        .matcher(html)
                        .results()
                        .map(java.util.regex.MatchResult::group)
                        .distinct())
                .allMatch(url -> url.startsWith("http://www.w3.org/"));
    }

    @Test
    void aKilledRunResumesWithoutMergingOrGeneratingAgain() throws IOException {
        Path base = Fixture.base(tmp);
        Path adapter = Fixture.adapter(tmp, "adapter", 7);
        SafeguardPlan plan = Fixture.plan(
                base, List.of(adapter), List.of("linear", "slerp"), List.of(0.3, 0.7), "safety-bound:0.05");

        // The reference: one uninterrupted run.
        Path reference = tmp.resolve("reference");
        SafeguardRunner.run(plan, reference, SafeguardRunner.Events.NONE, Progress.SILENT, QUIET);

        // Killed right after slerp-0.30 was merged and before it was evaluated.
        Path out = tmp.resolve("run");
        List<String> merges = new ArrayList<>();
        SafeguardRunner.Events killer = new SafeguardRunner.Events() {
            @Override
            public void merged(String variant) {
                merges.add(variant);
                if (variant.equals("slerp-0.30")) {
                    throw new Killed();
                }
            }
        };
        assertThatThrownBy(() -> SafeguardRunner.run(plan, out, killer, Progress.SILENT, QUIET))
                .isInstanceOf(Killed.class);
        assertThat(out.resolve("eval/linear-0.70/result.json")).exists();
        assertThat(out.resolve("eval/slerp-0.30/result.json")).doesNotExist();
        long cachedBefore =
                Files.readAllLines(out.resolve("generation-cache.jsonl")).size();

        List<String> resumedMerges = new ArrayList<>();
        SafeguardRunner.Result resumed = SafeguardRunner.run(
                plan,
                out,
                new SafeguardRunner.Events() {
                    @Override
                    public void merged(String variant) {
                        resumedMerges.add(variant);
                    }
                },
                Progress.SILENT,
                QUIET);
        // every merge happened once over both invocations; slerp-0.30's finished merge was reused
        assertThat(merges).containsExactly("linear-0.30", "linear-0.70", "slerp-0.30");
        assertThat(resumedMerges).containsExactly("slerp-0.70");
        // every answer generated once: the cache holds exactly as many records as the uninterrupted run's
        List<String> cache = Files.readAllLines(out.resolve("generation-cache.jsonl"));
        assertThat(cache)
                .hasSize(Files.readAllLines(reference.resolve("generation-cache.jsonl"))
                        .size());
        assertThat(cache.size()).isGreaterThan((int) cachedBefore);
        // and the results are the uninterrupted run's
        JsonNode a = Json.MAPPER.readTree(out.resolve("summary.json").toFile());
        JsonNode b = Json.MAPPER.readTree(reference.resolve("summary.json").toFile());
        assertThat(a.path("selected")).isEqualTo(b.path("selected"));
        for (int i = 0; i < a.path("variants").size(); i++) {
            JsonNode va = a.path("variants").get(i);
            JsonNode vb = b.path("variants").get(i);
            assertThat(va.path("asr_by_set")).isEqualTo(vb.path("asr_by_set"));
            assertThat(va.path("task_by_set")).isEqualTo(vb.path("task_by_set"));
        }
        assertThat(resumed.selected().selected()).isNotNull();
    }

    static int lines(Path file) throws IOException {
        return (int) Files.readAllLines(file).stream().filter(l -> !l.isBlank()).count();
    }

    static final class Killed extends RuntimeException {
        private static final long serialVersionUID = 1L;
    }
}
