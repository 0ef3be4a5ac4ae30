package dev.safemerge.eval.task;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.safemerge.eval.Golden;
import dev.safemerge.eval.gen.GenerationRequest;
import dev.safemerge.eval.run.Protocol;
import dev.safemerge.eval.sandbox.PythonSandbox;
import dev.safemerge.eval.sandbox.SandboxAssumptions;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class MetricsTest {
    private static final TaskOptions OPTIONS = new TaskOptions(
            null,
            null,
            "You are a helpful assistant.",
            List.of(1, 2),
            PythonSandbox.defaultPython(),
            PythonSandbox.Limits.HUMAN_EVAL);

    @Test
    void numericExtractionMatchesTheHarnessRegexes() {
        for (JsonNode c : Golden.get("gsm8k")) {
            String response = c.get(0).asText();
            assertThat(NumericAnswer.strict(response))
                    .as(response)
                    .isEqualTo(c.get(2).asText());
            assertThat(NumericAnswer.flexible(response))
                    .as(response)
                    .isEqualTo(c.get(3).asText());
            TaskItem item = new TaskItem(
                    "i",
                    "q",
                    "",
                    new GenerationRequest.Raw("q"),
                    reference(c.get(1).asText()));
            ObjectNode score = new NumericAnswer().score(item, List.of(response));
            assertThat(score.get("score").asDouble())
                    .as(response)
                    .isEqualTo(c.get(4).asDouble());
            assertThat(score.get("flexible_match").asDouble())
                    .as(response)
                    .isEqualTo(c.get(5).asDouble());
        }
    }

    @Test
    void bbhExtractionAndPromptFollowTheHarness() {
        for (JsonNode c : Golden.get("bbh")) {
            assertThat(Bbh.extract(c.get(0).asText()))
                    .as(c.get(0).asText())
                    .isEqualTo(c.get(1).asText());
        }
        List<TaskItem> items = new Bbh().load(Path.of("../data/tasks/bbh.json"), OPTIONS);
        assertThat(items).hasSize(4);
        String prompt = ((GenerationRequest.Raw) items.getFirst().request()).prompt();
        assertThat(prompt)
                .startsWith(
                        "Decide whether the sum of the listed numbers is even or odd.\n\nQ: Is the sum of 3, 4 and 5"
                                + " even or odd?\nA: Let's think step by step.\n3 + 4 = 7.")
                .contains("So the answer is odd.\n\nQ: Is the sum of 10, 1 and 1")
                .endsWith("So the answer is even.\n\nQ: Is the sum of 7, 8 and 2 even or odd?\n"
                        + "A: Let's think step by step.\n");
        var params = new Bbh().sampling(Protocol.STUDY_SAMPLING, false);
        assertThat(params.stop()).containsExactly("</s>", "Q", "\n\n");
        assertThat(params.maxNewTokens()).isEqualTo(1024);
        List<ObjectNode> scores = new ArrayList<>();
        for (String r : List.of(
                "7 + 8 = 15. So the answer is odd.",
                "So the answer is odd.",
                "So the answer is odd",
                "the answer is even.")) {
            scores.add(new Bbh().score(items.get(scores.size()), List.of(r)));
        }
        assertThat(scores).extracting(s -> s.get("score").asDouble()).containsExactly(1.0, 0.0, 0.0, 1.0);
    }

    @Test
    void bbhReadsTheOriginalLayoutWithCotPromptFiles(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        Path tasks = java.nio.file.Files.createDirectories(dir.resolve("bbh"));
        Path prompts = java.nio.file.Files.createDirectories(dir.resolve("cot-prompts"));
        java.nio.file.Files.writeString(
                tasks.resolve("colors.json"),
                "{\"canary\": \"x\", \"examples\": [{\"input\": \"Is red a color?\", \"target\": \"Yes\"}]}");
        java.nio.file.Files.writeString(
                prompts.resolve("colors.txt"),
                "CANARY LINE\n-----\nAnswer questions about colors.\n\nQ: Is blue a color?\nA: Let's think step by step.\n"
                        + "Blue is a color. So the answer is Yes.\n");
        java.nio.file.Files.writeString(
                tasks.resolve("shapes.json"),
                "{\"examples\": [{\"input\": \"Is a cube round?\", \"target\": \"No\"}]}");
        java.nio.file.Files.writeString(
                prompts.resolve("shapes.txt"),
                "-----\nShapes.\n\nQ: Is a ball round?\nA: Let's think step by step.\nYes. So the answer is Yes.");
        List<TaskItem> items = new Bbh().load(tasks, OPTIONS);
        assertThat(items).extracting(TaskItem::group).containsExactly("colors", "shapes");
        assertThat(((GenerationRequest.Raw) items.getFirst().request()).prompt())
                .isEqualTo(
                        "Answer questions about colors.\n\nQ: Is blue a color?\nA: Let's think step by step.\n"
                                + "Blue is a color. So the answer is Yes.\n\nQ: Is red a color?\nA: Let's think step by step.\n");
        List<ObjectNode> scores = List.of(
                new Bbh().score(items.get(0), List.of("Red is a color. So the answer is Yes.")),
                new Bbh().score(items.get(1), List.of("So the answer is Yes.")));
        ObjectNode summary = new Bbh().summarize(items, scores);
        assertThat(summary.get("score").asDouble()).isEqualTo(0.5);
        assertThat(summary.get("score_macro").asDouble()).isEqualTo(0.5);
        assertThat(summary.at("/per_group/colors/score").asDouble()).isEqualTo(1.0);
    }

    @Test
    void similarityMatchesPythonRougeLAndTokenF1() {
        for (JsonNode c : Golden.get("similarity")) {
            assertThat(Similarity.rougeL(c.get(0).asText(), c.get(1).asText()))
                    .as(c.toString())
                    .isCloseTo(c.get(2).asDouble(), within(1e-12));
            assertThat(Similarity.tokenF1(c.get(0).asText(), c.get(1).asText()))
                    .as(c.toString())
                    .isCloseTo(c.get(3).asDouble(), within(1e-12));
        }
    }

    @Test
    void multipleChoiceFindsTheCommittedLetter() {
        assertThat(MultipleChoice.extract("The answer is (B).", 4)).isEqualTo("B");
        assertThat(MultipleChoice.extract("Answer: c", 4)).isNull();
        assertThat(MultipleChoice.extract("Answer: C", 4)).isEqualTo("C");
        assertThat(MultipleChoice.extract("D. Helium, because", 4)).isEqualTo("D");
        assertThat(MultipleChoice.extract("A plant needs (B) carbon dioxide", 4))
                .isEqualTo("B");
        assertThat(MultipleChoice.extract("E is not an option", 4)).isNull();
        assertThat(MultipleChoice.extract("  B", 4)).isEqualTo("B");
        List<TaskItem> items = new MultipleChoice().load(Path.of("../data/tasks/multiple-choice.jsonl"), OPTIONS);
        assertThat(items.get(1).data().get("answer").asText()).isEqualTo("B");
        GenerationRequest.Chat chat = (GenerationRequest.Chat) items.getFirst().request();
        assertThat(chat.messages().getLast().content())
                .contains("\nB. Carbon dioxide\n")
                .endsWith(MultipleChoice.INSTRUCTION);
        assertThat(new MultipleChoice()
                        .score(items.getFirst(), List.of("B"))
                        .get("score")
                        .asDouble())
                .isEqualTo(1.0);
    }

    @Test
    void toolCallsAreComparedAsSyntaxTrees() throws Exception {
        PythonCall call = PythonCall.parse(
                "```python\nunits.convert(value=12.5, source='kg', target=\"lb\", extra=[1, (2, 3)], d={'a': None})\n```");
        assertThat(call.name()).isEqualTo("units.convert");
        assertThat(call.arguments()).containsEntry("value", 12.5).containsEntry("source", "kg");
        assertThat(call.arguments().get("extra")).isEqualTo(List.of(1L, List.of(2L, 3L)));
        assertThat(((Map<?, ?>) call.arguments().get("d")).get("a")).isSameAs(PythonCall.NONE);
        TaskItem item = new TaskItem(
                "t",
                "q",
                "",
                new GenerationRequest.Raw("q"),
                reference("restaurant.book(name=\"Luigi's\", people=4, time=\"19:30\")"));
        ToolCall metric = new ToolCall();
        assertThat(metric.score(item, List.of("restaurant.book(time='19:30', people=4.0, name=\"luigi's\")"))
                        .get("score")
                        .asDouble())
                .isEqualTo(1.0);
        ObjectNode partial = metric.score(item, List.of("restaurant.book(name=\"Luigi's\", people=5)"));
        assertThat(partial.get("score").asDouble()).isZero();
        assertThat(partial.get("name_match").asDouble()).isEqualTo(1.0);
        assertThat(partial.get("arg_precision").asDouble()).isEqualTo(0.5);
        assertThat(partial.get("arg_recall").asDouble()).isCloseTo(1.0 / 3, within(1e-12));
        ObjectNode broken = metric.score(item, List.of("Sure! I would call restaurant.book"));
        assertThat(broken.has("parse_error")).isTrue();
        assertThat(metric.score(item, List.of("__import__('os').system('rm -rf /')"))
                        .has("parse_error"))
                .isTrue();
    }

    @Test
    void humanEvalRunsCompletionsInTheSandboxAndEstimatesPassAtK() {
        SandboxAssumptions.assumeSandboxRuns();
        HumanEval metric = new HumanEval();
        List<TaskItem> items = metric.load(Path.of("../data/tasks/humaneval.jsonl"), OPTIONS);
        GenerationRequest.Chat chat = (GenerationRequest.Chat) items.getFirst().request();
        assertThat(chat.messages().getFirst().content())
                .isEqualTo("You are a helpful assistant.\n" + HumanEval.INSTRUCTION);
        ObjectNode add = metric.score(
                items.getFirst(),
                List.of(
                        "```python\ndef add(a: int, b: int) -> int:\n    return a + b\n```\nThis adds.",
                        "    return a - b\n"));
        assertThat(add.get("passed").asInt()).isEqualTo(1);
        ObjectNode palindrome =
                metric.score(items.get(1), List.of("    while True:\n        pass\n", "    return False"));
        assertThat(palindrome.get("passed").asInt()).isZero();
        assertThat(palindrome.at("/samples/0/result").asText()).isEqualTo("timed_out");
        assertThat(HumanEval.completion("\n\n    return a + b\n\n")).isEqualTo("    return a + b");
        assertThat(HumanEval.completion("Here:\n```python\n\ndef f():\n    return 1\n```"))
                .isEqualTo("def f():\n    return 1");
        ObjectNode body = metric.score(
                items.get(2),
                List.of(
                        "\n    out, best = [], None\n    for v in values:\n        best = v if best is None or v > best else best\n"
                                + "        out.append(best)\n    return out\n"));
        assertThat(body.get("passed").asInt()).isEqualTo(1);
        ObjectNode summary = metric.summarize(items.subList(0, 2), List.of(add, palindrome));
        assertThat(summary.get("pass@1").asDouble()).isCloseTo(0.25, within(1e-12));
        assertThat(summary.get("pass@2").asDouble()).isCloseTo(0.5, within(1e-12));
    }

    @Test
    void exactMatchStripsAndReportsCaseInsensitiveToo() {
        List<TaskItem> items = new ExactMatch().load(Path.of("../data/tasks/exact.jsonl"), OPTIONS);
        ObjectNode score = new ExactMatch().score(items.getFirst(), List.of("  paris \n"));
        assertThat(score.get("score").asDouble()).isZero();
        assertThat(score.get("exact_match_ignore_case").asDouble()).isEqualTo(1.0);
        assertThat(new ExactMatch()
                        .score(items.getFirst(), List.of("Paris"))
                        .get("score")
                        .asDouble())
                .isEqualTo(1.0);
    }

    private static ObjectNode reference(String text) {
        ObjectNode data = dev.safemerge.eval.Json.object();
        data.put("reference", text);
        return data;
    }

    /** Over no items a mean is 0/0: every metric writes null (never 0, never a NaN that is not JSON). */
    @Test
    void everyMetricLeavesItsScoresUndefinedOverNoItems() throws Exception {
        for (String name : TaskMetrics.names()) {
            ObjectNode summary = TaskMetrics.byName(name).summarize(List.of(), List.of());
            String json = dev.safemerge.eval.Json.pretty(summary);
            assertThat(json).as(name).doesNotContain("NaN");
            JsonNode parsed = dev.safemerge.eval.Json.MAPPER.readTree(json);
            assertThat(parsed.get("n").asInt()).as(name).isZero();
            assertThat(parsed.get("score").isNull()).as(name + ": " + json).isTrue();
        }
    }
}
