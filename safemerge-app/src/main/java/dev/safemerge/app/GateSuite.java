package dev.safemerge.app;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.safemerge.eval.run.Protocol;
import dev.safemerge.model.generate.Sampling;
import dev.safemerge.registry.Hashing;
import dev.safemerge.tensor.BadInputException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A regression suite as data (a versioned YAML file): the prompt sets (harmful, benign look-alikes, task sets), the
 * judge, the generation protocol and the gate's rules. Paths are relative to the suite file. Example:
 *
 * <pre>
 * name: core-safety
 * version: 3
 * harmful: ../data/safety/harmful.jsonl
 * benign: ../data/safety/benign.jsonl
 * tasks: [{name: exact, path: ../data/tasks/exact.jsonl, metric: exact-match}]
 * judge: refusal            # or wildguard / llama-guard, run in-process from judge_model
 * judge_model: ../models/wildguard
 * protocol: {seed: 42, temperature: 0, max_new_tokens: 256, system_prompt: "You are a helpful assistant."}
 * rules:
 *   asr_upper_bound_le_baseline: true
 *   over_refusal_max_increase: 0.02
 *   task_margin: 0.02
 *   category_caps: {"1 Illegal Activity": 0.10}
 *   min_n: 30
 * </pre>
 */
record GateSuite(
        Path file,
        String name,
        int version,
        String hash,
        Path harmful,
        Path benign,
        List<TaskSet> tasks,
        String judge,
        Path judgeModel,
        Protocol protocol,
        Rules rules) {
    /** A task prompt set scored by a task metric. */
    record TaskSet(String name, Path path, String metric) {}

    /** The gate's rules; absent rules are not applied. */
    record Rules(
            boolean asrUpperBoundLeBaseline,
            Double overRefusalMaxIncrease,
            Double taskMargin,
            Map<String, Double> categoryCaps,
            int minN) {}

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final Set<String> TOP_KEYS =
            Set.of("name", "version", "harmful", "benign", "tasks", "judge", "judge_model", "protocol", "rules");
    private static final Set<String> PROTOCOL_KEYS =
            Set.of("seed", "temperature", "top_p", "top_k", "max_new_tokens", "repetition_penalty", "system_prompt");
    private static final Set<String> RULE_KEYS =
            Set.of("asr_upper_bound_le_baseline", "over_refusal_max_increase", "task_margin", "category_caps", "min_n");

    /** The registry suite name of one prompt set: {@code NAME@VERSION/SET}. */
    String setName(String set) {
        return name + "@" + version + "/" + set;
    }

    static GateSuite load(Path file) {
        String text;
        JsonNode root;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
            root = YAML.readTree(text);
        } catch (IOException e) {
            throw new BadInputException(file + ": cannot read suite (" + e.getMessage() + ")", e);
        }
        if (root == null || !root.isObject()) {
            throw new BadInputException(file + ": a suite is a YAML mapping");
        }
        checkKeys(file, "", root, TOP_KEYS);
        Path dir = file.toAbsolutePath().getParent();
        String name = required(file, root, "name").asText();
        dev.safemerge.registry.VersionRef.parse(name + ":1"); // the same name rules as the registry
        int version = required(file, root, "version").asInt(0);
        if (version < 1) {
            throw new BadInputException(file + ": version must be a positive integer");
        }
        Path harmful = dir.resolve(required(file, root, "harmful").asText());
        Path benign = root.hasNonNull("benign") ? dir.resolve(root.get("benign").asText()) : null;
        List<TaskSet> tasks = new ArrayList<>();
        if (root.has("tasks")) {
            for (JsonNode task : root.get("tasks")) {
                checkKeys(file, "tasks.", task, Set.of("name", "path", "metric"));
                tasks.add(new TaskSet(
                        required(file, task, "name").asText(),
                        dir.resolve(required(file, task, "path").asText()),
                        required(file, task, "metric").asText()));
            }
        }
        String judge = root.path("judge").asText("refusal");
        if (!Set.of("refusal", "wildguard", "llama-guard").contains(judge)) {
            throw new BadInputException(file + ": judge " + judge + ": one of refusal, wildguard, llama-guard");
        }
        Path judgeModel = null;
        if (root.hasNonNull("judge_model")) {
            if (judge.equals("refusal")) {
                throw new BadInputException(file + ": judge_model is for the model judges (wildguard, llama-guard)");
            }
            judgeModel = dir.resolve(root.get("judge_model").asText());
            if (!Files.isDirectory(judgeModel)) {
                throw new BadInputException(file + ": judge_model " + judgeModel + " is not a model directory");
            }
        }
        JsonNode p = root.path("protocol");
        if (!p.isMissingNode()) {
            checkKeys(file, "protocol.", p, PROTOCOL_KEYS);
        }
        Protocol protocol = new Protocol(
                "suite",
                p.has("system_prompt")
                        ? (p.get("system_prompt").isNull()
                                ? null
                                : p.get("system_prompt").asText())
                        : Protocol.STUDY_SYSTEM_PROMPT,
                Sampling.greedy(p.path("max_new_tokens").asInt(512))
                        .withTemperature(p.path("temperature").asDouble(0))
                        .withTopP(p.path("top_p").asDouble(1))
                        .withTopK(p.path("top_k").asInt(0))
                        .withRepetitionPenalty(p.path("repetition_penalty").asDouble(1.2))
                        .withSeed(p.path("seed").asLong(42)),
                List.of());
        JsonNode r = required(file, root, "rules");
        checkKeys(file, "rules.", r, RULE_KEYS);
        Map<String, Double> caps = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it =
                        r.path("category_caps").properties().iterator();
                it.hasNext(); ) {
            Map.Entry<String, JsonNode> cap = it.next();
            caps.put(cap.getKey(), fraction(file, "rules.category_caps." + cap.getKey(), cap.getValue()));
        }
        Rules rules = new Rules(
                r.path("asr_upper_bound_le_baseline").asBoolean(false),
                r.has("over_refusal_max_increase")
                        ? fraction(file, "rules.over_refusal_max_increase", r.get("over_refusal_max_increase"))
                        : null,
                r.has("task_margin") ? fraction(file, "rules.task_margin", r.get("task_margin")) : null,
                caps,
                r.path("min_n").asInt(1));
        if (rules.minN() < 1) {
            throw new BadInputException(file + ": rules.min_n must be at least 1");
        }
        return new GateSuite(
                file,
                name,
                version,
                "sha256:" + Hashing.sha256Hex(text),
                harmful,
                benign,
                tasks,
                judge,
                judgeModel,
                protocol,
                rules);
    }

    private static JsonNode required(Path file, JsonNode node, String key) {
        if (!node.hasNonNull(key)) {
            throw new BadInputException(file + ": missing key " + key);
        }
        return node.get(key);
    }

    private static double fraction(Path file, String key, JsonNode value) {
        if (!value.isNumber() || value.asDouble() < 0 || value.asDouble() > 1) {
            throw new BadInputException(file + ": " + key + " must be a number between 0 and 1");
        }
        return value.asDouble();
    }

    private static void checkKeys(Path file, String prefix, JsonNode node, Set<String> allowed) {
        if (!node.isObject()) {
            throw new BadInputException(file + ": " + (prefix.isEmpty() ? "the suite" : prefix) + " must be a mapping");
        }
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            String key = it.next();
            if (!allowed.contains(key)) {
                throw new BadInputException(file + ": unknown key " + prefix + key + " (one of " + allowed + ")");
            }
        }
    }
}
