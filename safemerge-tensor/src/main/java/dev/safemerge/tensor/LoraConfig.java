package dev.safemerge.tensor;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * A PEFT LoRA configuration ({@code adapter_config.json}). Module paths are the base model's module names, such as
 * {@code model.layers.0.self_attn.q_proj} (a tensor name without {@code .weight}).
 *
 * @param r default rank
 * @param loraAlpha default alpha
 * @param targetModules module names targeted when {@code target_modules} is a list (a module matches when its path
 *     equals an entry or ends with "." + entry); empty when it is a regex
 * @param targetModulesRegex {@code target_modules} when it is a single string (a regex the whole path must match),
 *     else null
 * @param rankPattern per-module rank overrides; a key matches a module path as the regex {@code (.*\.)?(key)$}, and
 *     the first matching key in file order wins
 * @param alphaPattern per-module alpha overrides, matched like {@code rankPattern}
 * @param fanInFanOut the base weights are stored [in, out] (GPT-2 Conv1D), so deltas are transposed
 * @param modulesToSave modules whose full weights the adapter stores and which replace the base ones
 * @param bias "none" (the only supported value)
 */
public record LoraConfig(
        int r,
        double loraAlpha,
        List<String> targetModules,
        String targetModulesRegex,
        boolean useRslora,
        Map<String, Integer> rankPattern,
        Map<String, Double> alphaPattern,
        boolean fanInFanOut,
        List<String> modulesToSave,
        String baseModelNameOrPath,
        double loraDropout,
        String bias,
        String taskType) {

    public static final String FILE_NAME = "adapter_config.json";

    private static final ObjectMapper JSON = JsonMappers.strict();

    public LoraConfig {
        if (r <= 0) {
            throw new IllegalArgumentException("LoRA rank must be positive, got " + r);
        }
        targetModules = List.copyOf(targetModules);
        rankPattern = Collections.unmodifiableMap(new LinkedHashMap<>(rankPattern));
        alphaPattern = Collections.unmodifiableMap(new LinkedHashMap<>(alphaPattern));
        modulesToSave = List.copyOf(modulesToSave);
        if (targetModulesRegex != null) {
            try {
                Pattern.compile(targetModulesRegex);
            } catch (PatternSyntaxException e) {
                throw new BadInputException(
                        "target_modules regex '" + targetModulesRegex + "' is invalid: " + e.getDescription(), e);
            }
        }
    }

    /** A plain configuration: one rank and alpha for every module in {@code targetModules}, no patterns. */
    public static LoraConfig of(int r, double loraAlpha, List<String> targetModules, String baseModelNameOrPath) {
        return new LoraConfig(
                r,
                loraAlpha,
                targetModules,
                null,
                false,
                Map.of(),
                Map.of(),
                false,
                List.of(),
                baseModelNameOrPath,
                0.0,
                "none",
                "CAUSAL_LM");
    }

    /** Reads adapter_config.json, refusing LoRA variants that merging would get wrong (DoRA, LoRA bias, ...). */
    public static LoraConfig read(Path file) {
        String where = file.toString();
        JsonNode root;
        try {
            root = JSON.readTree(Files.readString(file));
        } catch (NoSuchFileException e) {
            throw new BadInputException(where + ": no such file (a PEFT adapter directory needs it)", e);
        } catch (IOException e) {
            String message = e.getMessage() == null
                    ? ""
                    : e.getMessage().lines().findFirst().orElse("");
            throw new BadInputException(where + ": not valid JSON: " + message, e);
        }
        return fromJson(root, where);
    }

    /** Interprets a parsed adapter_config.json; {@code where} names it in messages. */
    public static LoraConfig fromJson(JsonNode root, String where) {
        if (root == null || !root.isObject()) {
            throw new BadInputException(where + ": not a JSON object");
        }
        String peftType = text(root, "peft_type", where, "LORA");
        if (!peftType.equals("LORA")) {
            throw new BadInputException(
                    where + ": key 'peft_type' is '" + peftType + "'; only LORA adapters are" + " supported");
        }
        refuseIfSet(root, where, "use_dora", "DoRA adapters are not supported");
        refuseIfSet(root, where, "lora_bias", "LoRA bias terms are not supported");
        refuseIfSet(root, where, "layer_replication", "layer replication is not supported");
        refuseIfSet(root, where, "target_parameters", "LoRA on parameters (target_parameters) is not supported");
        refuseIfSet(root, where, "trainable_token_indices", "trainable token indices are not supported");
        String bias = text(root, "bias", where, "none");
        if (!bias.equals("none")) {
            throw new BadInputException(where + ": key 'bias' is '" + bias + "'; only \"none\" is supported");
        }
        int r = positiveInt(root.get("r"), where, "r", 8);
        double alpha = number(root.get("lora_alpha"), where, "lora_alpha", 8);
        List<String> targets = new ArrayList<>();
        String targetRegex = null;
        JsonNode targetNode = root.get("target_modules");
        if (targetNode == null || targetNode.isNull()) {
            throw new BadInputException(where + ": missing key 'target_modules'");
        } else if (targetNode.isTextual()) {
            targetRegex = targetNode.asText();
        } else if (targetNode.isArray()) {
            for (JsonNode target : targetNode) {
                if (!target.isTextual()) {
                    throw new BadInputException(where + ": key 'target_modules' must hold strings, got " + target);
                }
                targets.add(target.asText());
            }
        } else {
            throw new BadInputException(where + ": key 'target_modules' must be a list or a regex string");
        }
        Map<String, Integer> rankPattern = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> entry : objectEntries(root, "rank_pattern", where)) {
            rankPattern.put(
                    entry.getKey(), positiveInt(entry.getValue(), where, "rank_pattern." + entry.getKey(), null));
        }
        Map<String, Double> alphaPattern = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> entry : objectEntries(root, "alpha_pattern", where)) {
            alphaPattern.put(entry.getKey(), number(entry.getValue(), where, "alpha_pattern." + entry.getKey(), null));
        }
        List<String> modulesToSave = new ArrayList<>();
        JsonNode saveNode = root.get("modules_to_save");
        if (saveNode != null && !saveNode.isNull()) {
            if (!saveNode.isArray()) {
                throw new BadInputException(where + ": key 'modules_to_save' must be a list of module names or null");
            }
            for (JsonNode module : saveNode) {
                if (!module.isTextual()) {
                    throw new BadInputException(where + ": key 'modules_to_save' must hold strings, got " + module);
                }
                modulesToSave.add(module.asText());
            }
        }
        JsonNode dropout = root.get("lora_dropout");
        try {
            return new LoraConfig(
                    r,
                    alpha,
                    targets,
                    targetRegex,
                    bool(root, "use_rslora", where),
                    rankPattern,
                    alphaPattern,
                    bool(root, "fan_in_fan_out", where),
                    modulesToSave,
                    text(root, "base_model_name_or_path", where, null),
                    dropout == null || dropout.isNull() ? 0.0 : number(dropout, where, "lora_dropout", null),
                    bias,
                    text(root, "task_type", where, null));
        } catch (BadInputException e) {
            throw new BadInputException(where + ": " + e.getMessage(), e);
        }
    }

    /** The rank of one module: the first matching {@code rank_pattern} key, else {@code r}. */
    public int rank(String modulePath) {
        String key = patternKey(rankPattern.keySet(), modulePath);
        return key == null ? r : rankPattern.get(key);
    }

    /** The alpha of one module: the first matching {@code alpha_pattern} key, else {@code lora_alpha}. */
    public double alpha(String modulePath) {
        String key = patternKey(alphaPattern.keySet(), modulePath);
        return key == null ? loraAlpha : alphaPattern.get(key);
    }

    /** The factor applied to B·A for one module: alpha/r, or alpha/sqrt(r) with rsLoRA. */
    public double scaling(String modulePath) {
        int rank = rank(modulePath);
        double alpha = alpha(modulePath);
        return useRslora ? alpha / Math.sqrt(rank) : alpha / rank;
    }

    /** True when PEFT would put a LoRA layer on this module according to {@code target_modules}. */
    public boolean targets(String modulePath) {
        if (targetModulesRegex != null) {
            return Pattern.compile(targetModulesRegex).matcher(modulePath).matches();
        }
        for (String target : targetModules) {
            if (modulePath.equals(target) || modulePath.endsWith("." + target)) {
                return true;
            }
        }
        return false;
    }

    /** True when the module's full weights are stored in the adapter and replace the base ones. */
    public boolean saves(String modulePath) {
        for (String module : modulesToSave) {
            if (modulePath.equals(module) || modulePath.endsWith("." + module)) {
                return true;
            }
        }
        return false;
    }

    private static String patternKey(Iterable<String> keys, String modulePath) {
        for (String key : keys) {
            if (Pattern.compile("(.*\\.)?(" + key + ")$").matcher(modulePath).matches()) {
                return key;
            }
        }
        return null;
    }

    private static void refuseIfSet(JsonNode root, String where, String key, String reason) {
        JsonNode value = root.get(key);
        boolean set = value != null
                && !value.isNull()
                && !(value.isBoolean() && !value.asBoolean())
                && !(value.isContainerNode() && value.isEmpty());
        if (set) {
            throw new BadInputException(where + ": key '" + key + "' is " + value + ": " + reason);
        }
    }

    private static Iterable<Map.Entry<String, JsonNode>> objectEntries(JsonNode root, String key, String where) {
        JsonNode node = root.get(key);
        if (node == null || node.isNull()) {
            return List.of();
        }
        if (!node.isObject()) {
            throw new BadInputException(where + ": key '" + key + "' must be an object");
        }
        List<Map.Entry<String, JsonNode>> entries = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> entry = it.next();
            try {
                Pattern.compile(entry.getKey());
            } catch (PatternSyntaxException e) {
                throw new BadInputException(
                        where + ": key '" + key + "' has an invalid pattern '" + entry.getKey() + "'", e);
            }
            entries.add(entry);
        }
        return entries;
    }

    private static int positiveInt(JsonNode value, String where, String key, Integer absent) {
        if ((value == null || value.isNull()) && absent != null) {
            return absent;
        }
        if (value == null || !value.isIntegralNumber() || !value.canConvertToInt() || value.asInt() <= 0) {
            throw new BadInputException(where + ": key '" + key + "' must be a positive integer, got " + value);
        }
        return value.asInt();
    }

    private static double number(JsonNode value, String where, String key, Integer absent) {
        if ((value == null || value.isNull()) && absent != null) {
            return absent;
        }
        if (value == null || !value.isNumber() || !Double.isFinite(value.asDouble())) {
            throw new BadInputException(where + ": key '" + key + "' must be a number, got " + value);
        }
        return value.asDouble();
    }

    private static boolean bool(JsonNode root, String key, String where) {
        JsonNode value = root.get(key);
        if (value == null || value.isNull()) {
            return false;
        }
        if (!value.isBoolean()) {
            throw new BadInputException(where + ": key '" + key + "' must be true or false, got " + value);
        }
        return value.asBoolean();
    }

    private static String text(JsonNode root, String key, String where, String absent) {
        JsonNode value = root.get(key);
        if (value == null || value.isNull()) {
            return absent;
        }
        if (!value.isTextual()) {
            throw new BadInputException(where + ": key '" + key + "' must be a string, got " + value);
        }
        return value.asText();
    }
}
