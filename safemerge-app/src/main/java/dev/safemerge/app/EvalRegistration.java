package dev.safemerge.app;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.safemerge.eval.Json;
import dev.safemerge.eval.run.Protocol;
import dev.safemerge.eval.stats.Wilson;
import dev.safemerge.model.text.ChatTemplate;
import dev.safemerge.registry.CategoryRate;
import dev.safemerge.registry.Evaluation;
import dev.safemerge.registry.EvaluationItem;
import dev.safemerge.registry.Hashing;
import dev.safemerge.registry.ModelVersion;
import dev.safemerge.registry.NewEvaluation;
import dev.safemerge.registry.PromptVersion;
import dev.safemerge.registry.Registry;
import dev.safemerge.registry.VersionRef;
import dev.safemerge.tensor.BadInputException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code eval safety|task --register NAME:N [--prompt-version NAME:N]}: records the evaluation just written (summary
 * and every item of items.jsonl) with a registered model version, and the prompt version it ran with. Both are checked
 * before anything runs; with {@code --model DIR} the directory must hold exactly the registered tensors.
 */
final class EvalRegistration {
    @Option(
            names = "--register",
            paramLabel = "NAME:N",
            description = "Record the evaluation with this registered version.")
    String register;

    @Option(
            names = "--register-suite",
            paramLabel = "NAME",
            description = "Suite name in the registry (default: the prompt file's name).")
    String suite;

    @Option(
            names = "--prompt-version",
            paramLabel = "NAME:N|NAME@LABEL",
            description = "The registered prompt version the answers come from (needs --register): a system prompt"
                    + " is sent instead of the protocol's; a chat-template override renders the conversations of"
                    + " --model generation (or is recorded for --responses).")
    String promptVersion;

    @Mixin
    RegistryLocation location;

    /** The --prompt-version, resolved by {@link #check}. */
    private PromptVersion prompt;

    boolean enabled() {
        return register != null;
    }

    /** Fails before the evaluation runs when the version is unknown or DIR is not its content. */
    void check(Path modelDir) {
        if (!enabled()) {
            if (suite != null || promptVersion != null || location.given()) {
                throw new BadInputException(
                        "--register-suite, --prompt-version, --db and --actor need --register NAME:N");
            }
            return;
        }
        VersionRef ref = VersionRef.parse(register);
        try (Registry registry = location.open()) {
            ModelVersion model = registry.model(ref);
            prompt = promptVersion == null ? null : registry.prompt(promptVersion);
            if (modelDir != null && !Registry.contentHashOf(modelDir).equals(model.contentHash())) {
                throw new BadInputException("--model " + modelDir + " does not hold the tensors registered as " + ref);
            }
        }
    }

    /** The protocol of the command line with the --prompt-version applied (after {@link #check}). */
    Protocol withPrompt(GenerationOptions generation) {
        if (prompt != null
                && (generation.protocolOptions.systemPrompt != null || generation.protocolOptions.noSystemPrompt)) {
            throw new BadInputException("--prompt-version and --system / --no-system-prompt exclude each other");
        }
        if (chatTemplate() != null && generation.source.endpoint != null) {
            throw new BadInputException(prompt.ref() + " is a chat-template override, which a server does not take"
                    + " from the request: generate with --model, or evaluate its answers with --responses");
        }
        return apply(prompt, generation.protocol());
    }

    /** The chat template of a chat-template --prompt-version (after {@link #check}), or null. */
    ChatTemplate chatTemplate() {
        return chatTemplate(prompt);
    }

    /**
     * {@code protocol} with a prompt version (null: unchanged): a system prompt replaces the protocol's; a chat-template
     * override leaves it as it is (generation renders with {@link #chatTemplate(PromptVersion)}). Either way the
     * protocol records the prompt version.
     */
    static Protocol apply(PromptVersion prompt, Protocol protocol) {
        if (prompt == null) {
            return protocol;
        }
        List<String> overrides = new ArrayList<>(protocol.overrides());
        overrides.add("--prompt-version " + prompt.ref());
        return new Protocol(
                protocol.preset(),
                prompt.kind().equals("system-prompt") ? prompt.content() : protocol.systemPrompt(),
                protocol.sampling(),
                overrides);
    }

    /**
     * The template conversations are rendered with under a prompt version: its content when it is a chat-template
     * override (rendered by the same Jinja code and budgets as a model's template, errors naming the version), else
     * null (the model's own).
     */
    static ChatTemplate chatTemplate(PromptVersion prompt) {
        return prompt == null || !prompt.kind().equals("chat-template")
                ? null
                : ChatTemplate.of(prompt.content(), "prompt version " + prompt.ref());
    }

    /** Records a safety (or, with benign prompts, over-refusal) evaluation from OUT with the --register version. */
    Evaluation recordSafety(ObjectNode summary, Path out, Path prompts, boolean benign, long seed) {
        try (Registry registry = location.open()) {
            return recordSafety(
                    registry, VersionRef.parse(register), promptRef(), suiteName(prompts), summary, out, benign, seed);
        }
    }

    /** Records a task evaluation from OUT with the --register version. */
    Evaluation recordTask(ObjectNode summary, Path out, Path task, String metric, long seed) {
        try (Registry registry = location.open()) {
            return recordTask(
                    registry, VersionRef.parse(register), promptRef(), suiteName(task), summary, out, metric, seed);
        }
    }

    private VersionRef promptRef() {
        return prompt == null ? null : prompt.ref();
    }

    /**
     * The one JSON document {@code eval safety|task --json} prints: the files written, the summary, and the registration
     * (the evaluation's id, the version and prompt version it was recorded with, its measure) or null when the run was
     * not registered.
     */
    static ObjectNode document(ObjectNode summary, Path out, Evaluation recorded) {
        ObjectNode document = Json.object();
        document.put("summary_file", out.resolve("summary.json").toString());
        document.put("items_file", out.resolve("items.jsonl").toString());
        document.set("summary", summary);
        if (recorded == null) {
            document.putNull("registration");
            return document;
        }
        ObjectNode registration = document.putObject("registration");
        registration.put("evaluation_id", recorded.id());
        registration.put("version", recorded.model().toString());
        registration.put(
                "prompt_version",
                recorded.prompt() == null ? null : recorded.prompt().toString());
        registration.put("kind", recorded.kind());
        registration.put("suite", recorded.suite());
        registration.put("metric", recorded.metric());
        registration.put("value", recorded.value());
        registration.put("n", recorded.n());
        registration.put("ci_low", recorded.ciLow());
        registration.put("ci_high", recorded.ciHigh());
        return document;
    }

    /** The line a command prints for an evaluation it registered. */
    static String describe(Evaluation recorded) {
        return "registered evaluation " + recorded.id() + " with " + recorded.model()
                + (recorded.prompt() == null ? "" : " and prompt " + recorded.prompt()) + ": " + recorded.metric() + "="
                + Reports.rate(recorded.value(), recorded.n(), recorded.ciLow(), recorded.ciHigh());
    }

    private String suiteName(Path prompts) {
        return suite != null ? suite : prompts.getFileName().toString();
    }

    /** Records a safety (or, with benign prompts, over-refusal) evaluation written to OUT. */
    static Evaluation recordSafety(
            Registry registry,
            VersionRef model,
            VersionRef prompt,
            String suiteName,
            ObjectNode summary,
            Path out,
            boolean benign,
            long seed) {
        return registry.addEvaluation(safety(model, prompt, suiteName, summary, out, benign, seed));
    }

    /** A safety (or, with benign prompts, over-refusal) evaluation written to OUT, as the registry records it. */
    static NewEvaluation safety(
            VersionRef model,
            VersionRef prompt,
            String suiteName,
            ObjectNode summary,
            Path out,
            boolean benign,
            long seed) {
        List<JsonNode> lines = readItems(out);
        List<EvaluationItem> items = new ArrayList<>();
        Map<String, int[]> byCategory = new LinkedHashMap<>(); // category -> {n, hits}
        int refusals = 0;
        for (JsonNode line : lines) {
            boolean refusal = line.get("refusal_string_match").asBoolean();
            String verdict = benign
                    ? (refusal ? "refused" : "answered")
                    : line.get("verdict").asText();
            items.add(new EvaluationItem(
                    line.get("id").asText(),
                    line.get("category").asText(),
                    line.get("prompt").asText(),
                    line.get("response").asText(),
                    verdict,
                    refusal,
                    null,
                    line.path("judge_raw").isTextual() ? line.get("judge_raw").asText() : null));
            refusals += refusal ? 1 : 0;
            int[] counts = byCategory.computeIfAbsent(line.get("category").asText(), c -> new int[2]);
            if (benign) {
                counts[0]++;
                counts[1] += refusal ? 1 : 0;
            } else if (!verdict.equals("missing")) {
                counts[0]++;
                counts[1] += verdict.equals("unsafe") ? 1 : 0;
            }
        }
        int n;
        int hits;
        if (benign) {
            n = lines.size();
            hits = refusals;
        } else {
            n = summary.get("total").asInt() - summary.get("missing").asInt();
            hits = summary.get("unsafe").asInt();
        }
        List<CategoryRate> categories = new ArrayList<>();
        byCategory.forEach((category, counts) -> categories.add(rate(category, counts[1], counts[0])));
        CategoryRate overall = rate("", hits, n);
        return evaluation(
                model,
                prompt,
                suiteName,
                benign ? "over-refusal" : "safety",
                benign ? "refusal_rate" : "asr",
                summary.get("judge").asText(),
                Hashing.sha256Hex(summary.get("judge").asText() + "\n"
                        + summary.get("judge_description").asText()),
                Json.line(summary.get("protocol")),
                seed,
                overall,
                summary,
                categories,
                items);
    }

    /** Records a task evaluation written to OUT; an item passes with score 1. */
    static Evaluation recordTask(
            Registry registry,
            VersionRef model,
            VersionRef prompt,
            String suiteName,
            ObjectNode summary,
            Path out,
            String metric,
            long seed) {
        return registry.addEvaluation(task(model, prompt, suiteName, summary, out, metric, seed));
    }

    /** A task evaluation written to OUT, as the registry records it; an item passes with score 1. */
    static NewEvaluation task(
            VersionRef model,
            VersionRef prompt,
            String suiteName,
            ObjectNode summary,
            Path out,
            String metric,
            long seed) {
        List<EvaluationItem> items = new ArrayList<>();
        double sum = 0;
        double sumSquares = 0;
        boolean binary = true;
        for (JsonNode line : readItems(out)) {
            double score = line.get("score").asDouble();
            sum += score;
            sumSquares += score * score;
            binary &= score == 0.0 || score == 1.0;
            JsonNode responses = line.get("responses");
            items.add(new EvaluationItem(
                    line.get("id").asText(),
                    line.get("group").asText(),
                    line.get("prompt").asText(),
                    responses.isEmpty() ? "" : responses.get(0).asText(),
                    score == 1.0 ? "pass" : "fail",
                    false,
                    score,
                    null));
        }
        int n = items.size();
        CategoryRate overall;
        if (n == 0) {
            overall = new CategoryRate("", 0, 0, null, null, null);
        } else if (binary) {
            overall = rate("", (int) Math.round(sum), n);
        } else {
            // scores in [0, 1] that are not pass/fail: a normal interval of the mean
            double mean = sum / n;
            double variance = n > 1 ? (sumSquares - n * mean * mean) / (n - 1) : 0;
            double half = Wilson.Z95 * Math.sqrt(Math.max(0, variance) / n);
            overall = new CategoryRate(
                    "", n, (int) Math.round(sum), mean, Math.max(0, mean - half), Math.min(1, mean + half));
        }
        ObjectNode protocol = Json.object();
        protocol.set("sampling", summary.get("sampling"));
        protocol.set("samples", summary.get("samples_requested"));
        return evaluation(
                model,
                prompt,
                suiteName,
                "task",
                metric,
                metric,
                Hashing.sha256Hex("task metric\n" + metric),
                Json.line(protocol),
                seed,
                overall,
                summary,
                List.of(),
                items);
    }

    private static NewEvaluation evaluation(
            VersionRef model,
            VersionRef prompt,
            String suiteName,
            String kind,
            String metric,
            String judge,
            String judgeHash,
            String protocolText,
            long seed,
            CategoryRate overall,
            ObjectNode summary,
            List<CategoryRate> categories,
            List<EvaluationItem> items) {
        StringBuilder promptLines = new StringBuilder();
        for (EvaluationItem item : items) {
            promptLines
                    .append(Hashing.sha256OfFields(item.itemId(), item.category(), item.prompt()))
                    .append('\n');
        }
        String promptsHash = "sha256:" + Hashing.sha256Hex(promptLines.toString());
        return new NewEvaluation(
                model,
                prompt,
                kind,
                suiteName,
                promptsHash,
                judge,
                "sha256:" + judgeHash,
                promptsHash,
                "sha256:" + Hashing.sha256Hex(protocolText),
                seed,
                metric,
                overall.value(),
                overall.n(),
                overall.ciLow(),
                overall.ciHigh(),
                Json.pretty(summary),
                categories,
                items);
    }

    /** A Wilson-interval rate; null value and interval when n is 0. */
    static CategoryRate rate(String category, int hits, int n) {
        if (n == 0) {
            return new CategoryRate(category, 0, 0, null, null, null);
        }
        Wilson.Interval ci = Wilson.interval(hits, n, Wilson.Z95);
        return new CategoryRate(category, n, hits, (double) hits / n, ci.low(), ci.high());
    }

    private static List<JsonNode> readItems(Path out) {
        Path file = out.resolve("items.jsonl");
        List<JsonNode> lines = new ArrayList<>();
        try {
            for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                if (!line.isBlank()) {
                    lines.add(Json.MAPPER.readTree(line));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
        return lines;
    }
}
