package dev.safemerge.safeguard;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.safemerge.eval.Json;
import dev.safemerge.eval.data.PromptItem;
import dev.safemerge.eval.data.SafetyPrompts;
import dev.safemerge.eval.gen.LocalModels;
import dev.safemerge.eval.run.Protocol;
import dev.safemerge.eval.run.ProtocolSettings;
import dev.safemerge.eval.task.TaskItem;
import dev.safemerge.eval.task.TaskMetrics;
import dev.safemerge.eval.task.TaskOptions;
import dev.safemerge.model.generate.Sampling;
import dev.safemerge.tensor.BadInputException;
import dev.safemerge.tensor.LoraAdapter;
import dev.safemerge.tensor.ModelDirectory;
import dev.safemerge.tensor.TensorSource;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Random;
import java.util.Set;

/**
 * Everything a safeguard run needs, as given on the command line or in {@code plan.yml}; {@link #validate} checks it
 * all before anything is merged or generated. Relative paths in a plan file are relative to that file's folder; the
 * plan written into the run's folder holds absolute paths.
 *
 * @param adapters PEFT LoRA fine-tunes of {@code base} (one per seed), or empty
 * @param finetuned full fine-tuned model directories, or empty; exactly one of the two lists is non-empty
 * @param lambdas ascending λ values in (0, 1), or empty for {@code --lambdas auto}
 * @param benign look-alike benign prompts for over-refusal, or null
 * @param judgeModel the judge's model directory for wildguard and llama-guard, else null (refusal, or a judge on
 *     a server: {@link SafeguardEndpoints#judge})
 * @param limit only the first N items of every set, or null
 * @param protocolSettings the protocol's preset and the settings given over it (as {@code eval}'s --protocol and
 *     its options); its seed also seeds the merges and the validation split
 * @param validationFraction share of each task set held out for the validation rule
 * @param density the density of dare_linear, dare_ties and ties
 */
public record SafeguardPlan(
        Path base,
        List<Path> adapters,
        List<Path> finetuned,
        List<String> methods,
        List<Double> lambdas,
        List<SafetySet> safety,
        Path benign,
        List<TaskSet> tasks,
        String judge,
        Path judgeModel,
        SelectionRule select,
        Integer limit,
        ProtocolSettings protocolSettings,
        double validationFraction,
        double density,
        int batch,
        int threads,
        boolean keepModels) {

    public static final List<String> DEFAULT_METHODS = List.of("linear", "slerp", "dare_linear", "model_stock");
    public static final List<Double> DEFAULT_LAMBDAS = List.of(0.2, 0.4, 0.6, 0.8);
    public static final Set<String> METHODS =
            Set.of("linear", "task_arithmetic", "slerp", "ties", "dare_linear", "dare_ties", "model_stock");
    public static final List<String> JUDGES = List.of("refusal", "wildguard", "llama-guard");
    // The study's protocol and the run's defaults, shared by plan files and the command line.
    public static final String DEFAULT_JUDGE = "refusal";
    public static final String DEFAULT_SELECT = "safety-bound:0.05";
    public static final double DEFAULT_VALIDATION_FRACTION = 0.5;
    public static final double DEFAULT_DENSITY = 0.5;
    public static final int DEFAULT_BATCH = 8;

    /** A harmful prompt set and its name in the results. */
    public record SafetySet(String name, Path path) {}

    /** A task set, its name in the results and its metric. */
    public record TaskSet(String name, Path path, String metric) {}

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    public boolean autoLambdas() {
        return lambdas.isEmpty();
    }

    /** Methods without a λ: merged once. */
    public static boolean hasLambda(String method) {
        return !method.equals("model_stock");
    }

    /** The protocol's decoding settings; bad input when a setting is out of range or the preset unknown. */
    public Sampling sampling() {
        return protocolSettings.sampling();
    }

    /** The seed of sampling, merges (DARE) and the validation split: the protocol's. */
    public long seed() {
        return sampling().seed();
    }

    /** The protocol for the base model (whose type decides whether the preset sends a system turn). */
    public Protocol protocol() {
        return protocolSettings.resolve(LocalModels.modelType(base));
    }

    public TaskOptions taskOptions() {
        return new TaskOptions(null, null, protocol().systemPrompt(), List.of(1), null, null);
    }

    /** The prompts of a safety or benign set, cut to {@link #limit}; an empty set is bad input. */
    public List<PromptItem> prompts(Path path) {
        List<PromptItem> items;
        try {
            items = SafetyPrompts.load(path, null, null);
        } catch (UncheckedIOException e) {
            throw new BadInputException(path + ": cannot read (" + e.getCause().getMessage() + ")");
        }
        if (items.isEmpty()) {
            throw new BadInputException(path + ": no prompts");
        }
        return limit == null ? items : items.subList(0, Math.min(limit, items.size()));
    }

    /** The items of a task set, cut to {@link #limit}; an empty set is bad input. */
    public List<TaskItem> taskItems(TaskSet set) {
        List<TaskItem> items;
        try {
            items = TaskMetrics.byName(set.metric()).load(set.path(), taskOptions());
        } catch (UncheckedIOException e) {
            throw new BadInputException(
                    set.path() + ": cannot read (" + e.getCause().getMessage() + ")");
        }
        if (items.isEmpty()) {
            throw new BadInputException(set.path() + ": no items");
        }
        return limit == null ? items : items.subList(0, Math.min(limit, items.size()));
    }

    /**
     * The validation rule's seeded split: {@code [validation items, reported items]}, each non-empty; the same seed
     * and set give the same split in every run.
     */
    public List<List<TaskItem>> split(TaskSet set) {
        List<TaskItem> items = new ArrayList<>(taskItems(set));
        java.util.Collections.shuffle(items, new Random(seed()));
        int validation = (int) Math.round(items.size() * validationFraction);
        if (validation < 1 || validation >= items.size()) {
            throw new BadInputException(set.path() + ": " + items.size() + " items cannot be split "
                    + validationFraction + " for --select validation (each part needs at least one)");
        }
        return List.of(items.subList(0, validation), items.subList(validation, items.size()));
    }

    /** Checks the whole plan; throws {@link BadInputException} naming the first problem. */
    public void validate() {
        validateExceptModels();
        checkModels();
    }

    /**
     * Checks everything but the model directories themselves: what can be checked before a fine-tune that the run
     * trains first exists.
     */
    public void validateExceptModels() {
        if ((adapters.isEmpty()) == (finetuned.isEmpty())) {
            throw new BadInputException("give the fine-tune as --adapter DIR… or --finetuned DIR… (one of the two)");
        }
        for (Path path : inputModels()) {
            if (path.toAbsolutePath().toString().contains("+")) {
                throw new BadInputException(path + ": a model path must not contain '+' (mergekit's base+adapter)");
            }
        }
        if (methods.isEmpty()) {
            throw new BadInputException("--methods: at least one method");
        }
        for (String method : methods) {
            if (!METHODS.contains(method)) {
                throw new BadInputException("--methods " + method + ": unknown; one of "
                        + METHODS.stream().sorted().toList());
            }
        }
        int tunedCount = Math.max(adapters.size(), finetuned.size());
        if (methods.contains("model_stock") && tunedCount < 2) {
            throw new BadInputException(
                    "--methods model_stock needs at least 2 fine-tuned models (seeds), got " + tunedCount);
        }
        for (int i = 0; i < lambdas.size(); i++) {
            double l = lambdas.get(i);
            if (!(l > 0 && l < 1) || (i > 0 && !(l > lambdas.get(i - 1)))) {
                throw new BadInputException("--lambdas: values must be ascending, in (0, 1); got " + lambdas);
            }
        }
        if (autoLambdas() && !(select instanceof SelectionRule.SafetyBound)) {
            throw new BadInputException(
                    "--lambdas auto searches for the λ that meets a bound: it needs" + " --select safety-bound:δ");
        }
        if (safety.isEmpty()) {
            throw new BadInputException("--safety NAME=FILE: at least one harmful prompt set");
        }
        if (limit != null && limit < 1) {
            throw new BadInputException("--limit must be at least 1");
        }
        if (!(validationFraction > 0 && validationFraction < 1) || !(density > 0 && density <= 1)) {
            throw new BadInputException("validation_fraction must be in (0, 1), density in (0, 1]");
        }
        if (batch < 1 || threads < 0) {
            throw new BadInputException("--batch must be at least 1, --threads not negative");
        }
        if (!JUDGES.contains(judge)) {
            throw new BadInputException("--judge " + judge + ": unknown judge; one of " + JUDGES);
        }
        if (judge.equals("refusal") && judgeModel != null) {
            throw new BadInputException("--judge refusal takes no --judge-model");
        }
        // A model judge's model (a directory or a server) is checked with the run's endpoints: SafeguardEndpoints.
        sampling();
        checkUniqueNames();
        safety.forEach(set -> prompts(set.path()));
        if (benign != null) {
            prompts(benign);
        }
        if (select instanceof SelectionRule.Validation && tasks.isEmpty()) {
            throw new BadInputException("--select validation needs a --task set");
        }
        for (TaskSet set : tasks) {
            TaskMetrics.byName(set.metric());
            if (select instanceof SelectionRule.Validation) {
                split(set);
            } else {
                taskItems(set);
            }
        }
    }

    private List<Path> inputModels() {
        List<Path> all = new ArrayList<>(List.of(base));
        all.addAll(adapters);
        all.addAll(finetuned);
        return all;
    }

    private void checkUniqueNames() {
        List<String> names = new ArrayList<>();
        safety.forEach(s -> names.add("safety " + s.name()));
        tasks.forEach(t -> names.add("task " + t.name()));
        for (String name : names) {
            if (names.indexOf(name) != names.lastIndexOf(name)) {
                throw new BadInputException(name + ": the name is given twice");
            }
            if (!name.substring(name.indexOf(' ') + 1).matches("[A-Za-z0-9_.-]+")) {
                throw new BadInputException(name + ": names may hold letters, digits, '.', '_' and '-' only");
            }
        }
    }

    /** Same architecture and tensor shapes for every fine-tuned model; every adapter fits the base. */
    private void checkModels() {
        try (ModelDirectory baseDir = ModelDirectory.open(base)) {
            for (Path adapter : adapters) {
                try (LoraAdapter lora = LoraAdapter.open(adapter);
                        TensorSource applied = lora.applied(baseDir)) {
                    // applied() checked every adapted tensor against the base
                }
            }
            for (Path tuned : finetuned) {
                try (ModelDirectory dir = ModelDirectory.open(tuned)) {
                    if (!dir.config().architecture().equals(baseDir.config().architecture())) {
                        throw new BadInputException(
                                tuned + ": architecture " + dir.config().architecture() + " differs from the base's "
                                        + baseDir.config().architecture());
                    }
                    if (!dir.tensorNames().equals(baseDir.tensorNames())) {
                        throw new BadInputException(tuned + ": its tensors differ from the base's " + base);
                    }
                    for (String name : baseDir.tensorNames()) {
                        if (!Arrays.equals(
                                dir.info(name).shape(), baseDir.info(name).shape())) {
                            throw new BadInputException(tuned + ": tensor '" + name + "' is "
                                    + dir.info(name).shapeString() + " but the base has "
                                    + baseDir.info(name).shapeString());
                        }
                    }
                }
            }
        } catch (UncheckedIOException e) {
            throw new BadInputException("cannot read a model: " + e.getMessage());
        }
    }

    public ObjectNode toJson() {
        ObjectNode node = Json.object();
        node.put("base", base.toString());
        paths(node.putArray("adapters"), adapters);
        paths(node.putArray("finetuned"), finetuned);
        ArrayNode m = node.putArray("methods");
        methods.forEach(m::add);
        if (autoLambdas()) {
            node.put("lambdas", "auto");
        } else {
            ArrayNode l = node.putArray("lambdas");
            lambdas.forEach(l::add);
        }
        ArrayNode s = node.putArray("safety");
        safety.forEach(set ->
                s.addObject().put("name", set.name()).put("path", set.path().toString()));
        node.put("benign", benign == null ? null : benign.toString());
        ArrayNode t = node.putArray("tasks");
        tasks.forEach(set -> t.addObject()
                .put("name", set.name())
                .put("path", set.path().toString())
                .put("metric", set.metric()));
        node.put("judge", judge);
        node.put("judge_model", judgeModel == null ? null : judgeModel.toString());
        node.put("select", select.text());
        if (limit == null) {
            node.putNull("limit");
        } else {
            node.put("limit", limit);
        }
        node.put("protocol", protocolSettings.preset());
        node.put("system_prompt", protocolSettings.systemPrompt());
        node.put("no_system_prompt", protocolSettings.noSystemPrompt());
        // null: the preset's setting
        node.put("temperature", protocolSettings.temperature());
        node.put("top_p", protocolSettings.topP());
        node.put("top_k", protocolSettings.topK());
        node.put("max_new_tokens", protocolSettings.maxNewTokens());
        node.put("repetition_penalty", protocolSettings.repetitionPenalty());
        node.put("seed", protocolSettings.seed());
        node.put("validation_fraction", validationFraction);
        node.put("density", density);
        node.put("batch", batch);
        node.put("threads", threads);
        node.put("keep_models", keepModels);
        return node;
    }

    private static void paths(ArrayNode array, List<Path> paths) {
        paths.forEach(p -> array.add(p.toString()));
    }

    public String toYaml() {
        try {
            return YAML.writeValueAsString(toJson());
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The same plan with other fine-tuned models (a fine-tune the run trains itself). */
    public SafeguardPlan withFineTune(List<Path> adapters, List<Path> finetuned) {
        return withPaths(base, adapters, finetuned, safety, benign, tasks, judgeModel);
    }

    /** The same plan with every path absolute, as written into the run's folder. */
    public SafeguardPlan absolute() {
        return resolved(Path.of("").toAbsolutePath());
    }

    private SafeguardPlan resolved(Path dir) {
        return withPaths(
                abs(dir, base),
                adapters.stream().map(p -> abs(dir, p)).toList(),
                finetuned.stream().map(p -> abs(dir, p)).toList(),
                safety.stream()
                        .map(s -> new SafetySet(s.name(), abs(dir, s.path())))
                        .toList(),
                abs(dir, benign),
                tasks.stream()
                        .map(t -> new TaskSet(t.name(), abs(dir, t.path()), t.metric()))
                        .toList(),
                abs(dir, judgeModel));
    }

    /** The same settings over other inputs: the one place that copies every setting. */
    private SafeguardPlan withPaths(
            Path base,
            List<Path> adapters,
            List<Path> finetuned,
            List<SafetySet> safety,
            Path benign,
            List<TaskSet> tasks,
            Path judgeModel) {
        return new SafeguardPlan(
                base,
                adapters,
                finetuned,
                methods,
                lambdas,
                safety,
                benign,
                tasks,
                judge,
                judgeModel,
                select,
                limit,
                protocolSettings,
                validationFraction,
                density,
                batch,
                threads,
                keepModels);
    }

    private static Path abs(Path dir, Path path) {
        return path == null ? null : dir.resolve(path).toAbsolutePath().normalize();
    }

    private static final Set<String> KEYS = Set.of(
            "base",
            "adapters",
            "finetuned",
            "methods",
            "lambdas",
            "safety",
            "benign",
            "tasks",
            "judge",
            "judge_model",
            "select",
            "limit",
            "protocol",
            "system_prompt",
            "no_system_prompt",
            "temperature",
            "top_p",
            "top_k",
            "max_new_tokens",
            "repetition_penalty",
            "seed",
            "validation_fraction",
            "density",
            "batch",
            "threads",
            "keep_models");

    /** Reads a plan file; paths in it are relative to its folder. Missing keys take the command's defaults. */
    public static SafeguardPlan read(Path file) {
        JsonNode root;
        try {
            root = YAML.readTree(Files.readString(file));
        } catch (IOException e) {
            throw new BadInputException(file + ": cannot read a YAML plan (" + firstLine(e.getMessage()) + ")");
        }
        if (root == null || !root.isObject()) {
            throw new BadInputException(file + ": a plan is a YAML mapping");
        }
        for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
            String key = it.next();
            if (!KEYS.contains(key)) {
                throw new BadInputException(file + ": unknown key '" + key + "'");
            }
        }
        Reader r = new Reader(file, root);
        Path dir = file.toAbsolutePath().getParent();
        List<SafetySet> safety = new ArrayList<>();
        for (JsonNode set : r.array("safety")) {
            safety.add(new SafetySet(r.text(set, "safety[].name"), Path.of(r.text(set, "safety[].path"))));
        }
        List<TaskSet> tasks = new ArrayList<>();
        for (JsonNode set : r.array("tasks")) {
            tasks.add(new TaskSet(
                    r.text(set, "tasks[].name"), Path.of(r.text(set, "tasks[].path")), r.text(set, "tasks[].metric")));
        }
        JsonNode lambdas = root.path("lambdas");
        List<Double> lambdaValues = lambdas.isTextual() && lambdas.asText().equals("auto")
                ? List.of()
                : lambdas.isMissingNode()
                        ? DEFAULT_LAMBDAS
                        : r.array("lambdas").stream()
                                .map(n -> r.number(n, "lambdas[]"))
                                .toList();
        SafeguardPlan plan = new SafeguardPlan(
                Path.of(r.text(root, "base")),
                r.array("adapters").stream()
                        .map(n -> Path.of(r.text(n, "adapters[]")))
                        .toList(),
                r.array("finetuned").stream()
                        .map(n -> Path.of(r.text(n, "finetuned[]")))
                        .toList(),
                root.has("methods")
                        ? r.array("methods").stream()
                                .map(n -> r.text(n, "methods[]"))
                                .toList()
                        : DEFAULT_METHODS,
                lambdaValues,
                safety,
                r.optionalPath("benign"),
                tasks,
                root.path("judge").asText(DEFAULT_JUDGE),
                r.optionalPath("judge_model"),
                SelectionRule.parse(root.path("select").asText(DEFAULT_SELECT)),
                root.path("limit").isNumber() ? root.path("limit").asInt() : null,
                new ProtocolSettings(
                        root.path("protocol").asText(ProtocolSettings.DEFAULT_PRESET),
                        root.path("system_prompt").isTextual()
                                ? root.path("system_prompt").asText()
                                : null,
                        root.path("no_system_prompt").asBoolean(false),
                        r.optionalNumber("temperature"),
                        r.optionalNumber("top_p"),
                        r.optionalInt("top_k"),
                        r.optionalInt("max_new_tokens"),
                        r.optionalNumber("repetition_penalty"),
                        r.optionalInt("seed") == null ? null : root.path("seed").asLong()),
                root.path("validation_fraction").asDouble(DEFAULT_VALIDATION_FRACTION),
                root.path("density").asDouble(DEFAULT_DENSITY),
                root.path("batch").asInt(DEFAULT_BATCH),
                root.path("threads").asInt(0),
                root.path("keep_models").asBoolean(false));
        return plan.resolved(dir);
    }

    private static String firstLine(String message) {
        return message == null ? "" : message.lines().findFirst().orElse("");
    }

    private record Reader(Path file, JsonNode root) {
        List<JsonNode> array(String key) {
            JsonNode node = root.path(key);
            if (node.isMissingNode() || node.isNull()) {
                return List.of();
            }
            if (!node.isArray()) {
                throw new BadInputException(file + ": '" + key + "' must be a list");
            }
            List<JsonNode> out = new ArrayList<>();
            node.forEach(out::add);
            return out;
        }

        String text(JsonNode node, String key) {
            JsonNode value = node.isValueNode() ? node : node.path(key.substring(key.lastIndexOf('.') + 1));
            if (!value.isValueNode() || value.asText().isEmpty()) {
                throw new BadInputException(file + ": '" + key + "' is missing or not a string");
            }
            return value.asText();
        }

        double number(JsonNode node, String key) {
            if (!node.isNumber()) {
                throw new BadInputException(file + ": '" + key + "' must be a number, got " + node);
            }
            return node.asDouble();
        }

        /** A number, or null when the key is missing or null (the preset's setting). */
        Double optionalNumber(String key) {
            JsonNode node = root.path(key);
            if (node.isMissingNode() || node.isNull()) {
                return null;
            }
            return number(node, key);
        }

        /** A whole number, or null when the key is missing or null (the preset's setting). */
        Integer optionalInt(String key) {
            JsonNode node = root.path(key);
            if (node.isMissingNode() || node.isNull()) {
                return null;
            }
            if (!node.isIntegralNumber()) {
                throw new BadInputException(file + ": '" + key + "' must be a whole number, got " + node);
            }
            return node.asInt();
        }

        Path optionalPath(String key) {
            JsonNode node = root.path(key);
            return node.isTextual() ? Path.of(node.asText()) : null;
        }
    }
}
