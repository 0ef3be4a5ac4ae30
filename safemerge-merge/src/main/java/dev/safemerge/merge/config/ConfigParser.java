package dev.safemerge.merge.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.safemerge.merge.MergeMethod;
import dev.safemerge.merge.MethodRegistry;
import dev.safemerge.merge.ParameterSpec;
import dev.safemerge.merge.Params;
import dev.safemerge.tensor.BadInputException;
import dev.safemerge.tensor.DType;
import dev.safemerge.tensor.JsonMappers;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;

/**
 * Reads a mergekit YAML config and checks its shape: unknown keys, wrong types, unknown methods and parameters,
 * missing base models. Every problem is one {@link BadInputException} line naming the file and the key path.
 * Numbers written as strings (YAML 1.1 reads {@code 1e-5} as a string) and booleans are coerced the way mergekit's
 * pydantic models coerce them.
 */
public final class ConfigParser {
    private static final ObjectMapper YAML = JsonMappers.over(new YAMLFactory());
    private static final Set<String> TOP_KEYS = Set.of(
            "merge_method",
            "models",
            "slices",
            "modules",
            "base_model",
            "parameters",
            "dtype",
            "out_dtype",
            "tokenizer_source",
            "tokenizer",
            "chat_template");

    private final String file;
    private final Path folder;
    private final Consumer<String> warnings;
    private MergeMethod method;

    private ConfigParser(String file, Path folder, Consumer<String> warnings) {
        this.file = file;
        this.folder = folder;
        this.warnings = warnings;
    }

    public static MergeConfig parse(Path path, Consumer<String> warnings) {
        String text;
        try {
            text = Files.readString(path, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new BadInputException(path + ": no such file", e);
        } catch (IOException e) {
            throw new BadInputException(path + ": cannot read: " + e.getMessage(), e);
        }
        Path folder = path.toAbsolutePath().getParent();
        return parse(text, path, folder, warnings);
    }

    public static MergeConfig parse(String text, Path file, Path folder, Consumer<String> warnings) {
        return new ConfigParser(file.toString(), folder, warnings).read(text, file);
    }

    private BadInputException error(String key, String message) {
        return new BadInputException(file + ": " + (key.isEmpty() ? "" : key + ": ") + message);
    }

    private MergeConfig read(String text, Path path) {
        JsonNode root;
        try {
            root = YAML.readTree(text);
        } catch (JsonProcessingException e) {
            String location =
                    e.getLocation() == null ? "" : "line " + e.getLocation().getLineNr() + ": ";
            throw new BadInputException(
                    file + ": " + location + "not valid YAML: "
                            + e.getOriginalMessage().lines().findFirst().orElse(""),
                    e);
        }
        if (root == null || !root.isObject()) {
            throw error("", "the config must be a YAML mapping with merge_method and models or slices");
        }
        checkKeys("", root, TOP_KEYS);
        String methodName = requiredText(root, "merge_method", "merge_method");
        method = MethodRegistry.find(methodName);
        if (method == null) {
            throw error(
                    "merge_method",
                    "unknown method '" + methodName + "' (known: "
                            + String.join(", ", MethodRegistry.all().keySet()) + ")");
        }
        if (root.has("modules")) {
            throw error("modules", "multi-module configs are not supported; use models or slices");
        }
        boolean hasModels = root.has("models");
        boolean hasSlices = root.has("slices");
        if (hasModels == hasSlices) {
            throw error("", "exactly one of 'models' or 'slices' must be set");
        }
        ModelRef base = root.has("base_model") ? modelRef(root.get("base_model"), "base_model") : null;
        Map<String, Setting> parameters = parameters(root.get("parameters"), "parameters", false);
        List<MergeConfig.Source> models = hasModels ? modelEntries(root.get("models")) : List.of();
        List<MergeConfig.Slice> slices = hasSlices ? slices(root.get("slices")) : List.of();
        DType dtype = dtype(root, "dtype");
        DType outDtype = dtype(root, "out_dtype");
        String tokenizerSource = tokenizerSource(root);
        if (root.has("chat_template") && !root.get("chat_template").isNull()) {
            throw error("chat_template", "setting a chat template is not supported; copy the tokenizer files instead");
        }
        MergeConfig config =
                new MergeConfig(path, text, method, models, slices, base, parameters, dtype, outDtype, tokenizerSource);
        checkBaseModel(config);
        checkModelConstants(config);
        return config;
    }

    /**
     * Checks per-model parameters that constrain each other (DELLA's density ± epsilon) wherever every one of them
     * is a constant, so such configs are refused here, naming the model entry; values that vary over layers or
     * tensors are checked per tensor when the merge is planned, still before any tensor is read.
     */
    private void checkModelConstants(MergeConfig config) {
        for (int i = 0; i < config.models().size(); i++) {
            checkModelConstants(config.models().get(i), config.baseModel(), Map.of(), "", config, "models[" + i + "]");
        }
        for (int i = 0; i < config.slices().size(); i++) {
            MergeConfig.Slice slice = config.slices().get(i);
            ModelRef base = slice.baseModel() != null ? slice.baseModel() : config.baseModel();
            for (int j = 0; j < slice.sources().size(); j++) {
                checkModelConstants(
                        slice.sources().get(j),
                        base,
                        slice.parameters(),
                        "slices[" + i + "].parameters",
                        config,
                        "slices[" + i + "].sources[" + j + "]");
            }
        }
    }

    private void checkModelConstants(
            MergeConfig.Source source,
            ModelRef base,
            Map<String, Setting> sliceLevel,
            String sliceWhere,
            MergeConfig config,
            String where) {
        if (source.model().equals(base)) {
            return;
        }
        Map<String, Double> values = new LinkedHashMap<>();
        List<String> origins = new ArrayList<>();
        for (ParameterSpec spec : method.parameters()) {
            if (spec.scope() != ParameterSpec.Scope.PER_MODEL) {
                continue;
            }
            String origin = where + ".parameters";
            Setting setting = source.parameters().get(spec.name());
            if (setting == null) {
                origin = sliceWhere;
                setting = sliceLevel.get(spec.name());
            }
            if (setting == null) {
                origin = "parameters";
                setting = config.parameters().get(spec.name());
            }
            if (setting == null && spec.defaultValue() != null) {
                setting = new Setting.Constant(spec.defaultValue());
                origin = "the default";
            }
            if (setting == null) {
                continue;
            }
            if (!(setting instanceof Setting.Constant constant)) {
                return;
            }
            values.put(spec.name(), constant.value());
            origins.add(spec.name() + " from " + (origin.equals("the default") ? origin : origin + "." + spec.name()));
        }
        String problem = method.checkModelParams(new Params(values));
        if (problem != null) {
            throw error(where, method.name() + ": " + problem + "; " + String.join(", ", origins));
        }
    }

    private void checkBaseModel(MergeConfig config) {
        if (method.baseModel() != MergeMethod.BaseModelRule.REQUIRED) {
            return;
        }
        if (config.slices().isEmpty()) {
            if (config.baseModel() == null) {
                throw error("base_model", method.name() + " needs a base_model");
            }
            return;
        }
        for (int i = 0; i < config.slices().size(); i++) {
            if (config.slices().get(i).baseModel() == null && config.baseModel() == null) {
                throw error("slices[" + i + "]", method.name() + " needs a base_model (top level or per slice)");
            }
        }
    }

    private void checkKeys(String where, JsonNode node, Set<String> allowed) {
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            String key = it.next();
            if (!allowed.contains(key)) {
                throw error(
                        where.isEmpty() ? key : where + "." + key,
                        "unknown key (expected one of " + String.join(", ", new TreeSet<>(allowed)) + ")");
            }
        }
    }

    private String requiredText(JsonNode node, String key, String where) {
        JsonNode value = node.get(key);
        if (value == null || value.isNull()) {
            throw error(where, "missing");
        }
        if (!value.isValueNode() || value.isBoolean()) {
            throw error(where, "expected a string, got " + describe(value));
        }
        return value.asText();
    }

    private ModelRef modelRef(JsonNode node, String where) {
        if (node == null || node.isNull()) {
            throw error(where, "missing model path");
        }
        if (node.isObject()) {
            throw error(where, "expected a path string (PATH or BASE+ADAPTER), got a mapping");
        }
        if (!node.isValueNode()) {
            throw error(where, "expected a path string, got " + describe(node));
        }
        return ModelRef.parse(node.asText(), folder, file + ": " + where);
    }

    private List<MergeConfig.Source> modelEntries(JsonNode node) {
        if (!node.isArray() || node.isEmpty()) {
            throw error("models", "expected a non-empty list of {model, parameters}");
        }
        List<MergeConfig.Source> sources = new ArrayList<>();
        for (int i = 0; i < node.size(); i++) {
            String where = "models[" + i + "]";
            JsonNode entry = node.get(i);
            if (entry.isTextual()) {
                sources.add(new MergeConfig.Source(modelRef(entry, where), -1, -1, Map.of()));
                continue;
            }
            if (!entry.isObject()) {
                throw error(where, "expected {model, parameters}, got " + describe(entry));
            }
            checkKeys(where, entry, Set.of("model", "parameters"));
            sources.add(new MergeConfig.Source(
                    modelRef(entry.get("model"), where + ".model"),
                    -1,
                    -1,
                    parameters(entry.get("parameters"), where + ".parameters", true)));
        }
        return sources;
    }

    private List<MergeConfig.Slice> slices(JsonNode node) {
        if (!node.isArray() || node.isEmpty()) {
            throw error("slices", "expected a non-empty list of {sources, base_model, parameters}");
        }
        List<MergeConfig.Slice> slices = new ArrayList<>();
        for (int i = 0; i < node.size(); i++) {
            String where = "slices[" + i + "]";
            JsonNode slice = node.get(i);
            if (!slice.isObject()) {
                throw error(where, "expected {sources, base_model, parameters}, got " + describe(slice));
            }
            checkKeys(where, slice, Set.of("sources", "base_model", "parameters", "residual_weight"));
            JsonNode sourcesNode = slice.get("sources");
            if (sourcesNode == null || !sourcesNode.isArray() || sourcesNode.isEmpty()) {
                throw error(where + ".sources", "expected a non-empty list of {model, layer_range, parameters}");
            }
            List<MergeConfig.Source> sources = new ArrayList<>();
            for (int j = 0; j < sourcesNode.size(); j++) {
                String sw = where + ".sources[" + j + "]";
                JsonNode source = sourcesNode.get(j);
                if (!source.isObject()) {
                    throw error(sw, "expected {model, layer_range, parameters}, got " + describe(source));
                }
                checkKeys(sw, source, Set.of("model", "layer_range", "parameters"));
                JsonNode range = source.get("layer_range");
                if (range == null || !range.isArray() || range.size() != 2) {
                    throw error(sw + ".layer_range", "expected [start, end]");
                }
                int start = integer(range.get(0), sw + ".layer_range[0]");
                int end = integer(range.get(1), sw + ".layer_range[1]");
                if (start < 0 || end <= start) {
                    throw error(sw + ".layer_range", "[" + start + ", " + end + "] must satisfy 0 <= start < end");
                }
                sources.add(new MergeConfig.Source(
                        modelRef(source.get("model"), sw + ".model"),
                        start,
                        end,
                        parameters(source.get("parameters"), sw + ".parameters", true)));
            }
            int layers = sources.getFirst().layerCount();
            for (int j = 1; j < sources.size(); j++) {
                if (sources.get(j).layerCount() != layers) {
                    throw error(
                            where + ".sources[" + j + "].layer_range",
                            "spans " + sources.get(j).layerCount() + " layers but sources[0] spans " + layers
                                    + " (all sources of a slice must match)");
                }
            }
            ModelRef base = slice.has("base_model") ? modelRef(slice.get("base_model"), where + ".base_model") : null;
            slices.add(new MergeConfig.Slice(
                    sources, base, parameters(slice.get("parameters"), where + ".parameters", false)));
        }
        return slices;
    }

    private int integer(JsonNode node, String where) {
        Double value = number(node, where);
        if (value == null || value != Math.rint(value) || Math.abs(value) > Integer.MAX_VALUE) {
            throw error(where, "expected an integer, got " + describe(node));
        }
        return value.intValue();
    }

    private Map<String, Setting> parameters(JsonNode node, String where, boolean modelLevel) {
        if (node == null || node.isNull()) {
            return Map.of();
        }
        if (!node.isObject()) {
            throw error(where, "expected a mapping of parameter names to values, got " + describe(node));
        }
        Map<String, ParameterSpec> declared = new LinkedHashMap<>();
        for (ParameterSpec spec : method.parameters()) {
            declared.put(spec.name(), spec);
        }
        Map<String, Setting> settings = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> entry = it.next();
            String key = where + "." + entry.getKey();
            ParameterSpec spec = declared.get(entry.getKey());
            if (spec == null) {
                throw error(
                        key,
                        "unknown parameter for " + method.name() + " (it reads: " + String.join(", ", declared.keySet())
                                + ")");
            }
            if (modelLevel && spec.scope() == ParameterSpec.Scope.GLOBAL) {
                warnings.accept(file + ": " + key + ": '" + spec.name() + "' is a global parameter; mergekit ignores it"
                        + " under a model entry, and so does safemerge (set it under the top-level parameters)");
                continue;
            }
            Setting setting = setting(entry.getValue(), key);
            checkRange(spec, setting, key);
            settings.put(entry.getKey(), setting);
        }
        return settings;
    }

    /** Checks every value a setting can yield (gradients interpolate between their points, so the points suffice). */
    private void checkRange(ParameterSpec spec, Setting setting, String where) {
        switch (setting) {
            case Setting.Constant constant -> checkRange(spec, constant.value(), where);
            case Setting.Gradient gradient -> {
                double[] points = gradient.points();
                for (int i = 0; i < points.length; i++) {
                    checkRange(spec, points[i], where + "[" + i + "]");
                }
            }
            case Setting.Conditional conditional -> {
                for (int i = 0; i < conditional.conditions().size(); i++) {
                    checkRange(spec, conditional.conditions().get(i).value(), where + "[" + i + "].value");
                }
            }
        }
    }

    private void checkRange(ParameterSpec spec, double value, String where) {
        String problem = spec.rangeProblem(value);
        if (problem != null) {
            throw error(where, Double.toString(value) + " is out of range: " + method.name() + "'s " + problem);
        }
    }

    private Setting setting(JsonNode node, String where) {
        Double scalar = number(node, where);
        if (scalar != null) {
            return new Setting.Constant(scalar);
        }
        if (node.isArray()) {
            if (node.isEmpty()) {
                throw error(where, "empty list");
            }
            if (node.get(0).isObject()) {
                List<Setting.Condition> conditions = new ArrayList<>();
                for (int i = 0; i < node.size(); i++) {
                    conditions.add(condition(node.get(i), where + "[" + i + "]"));
                }
                return new Setting.Conditional(conditions);
            }
            return gradient(node, where);
        }
        if (node.isObject()) {
            return new Setting.Conditional(List.of(condition(node, where)));
        }
        throw error(where, "expected a number, a list of numbers or {filter, value} conditions, got " + describe(node));
    }

    private Setting.Gradient gradient(JsonNode node, String where) {
        double[] points = new double[node.size()];
        for (int i = 0; i < points.length; i++) {
            Double value = number(node.get(i), where + "[" + i + "]");
            if (value == null) {
                throw error(where + "[" + i + "]", "expected a number in a gradient, got " + describe(node.get(i)));
            }
            points[i] = value;
        }
        return new Setting.Gradient(points);
    }

    private Setting.Condition condition(JsonNode node, String where) {
        if (!node.isObject()) {
            throw error(where, "expected {filter, value}, got " + describe(node));
        }
        checkKeys(where, node, Set.of("filter", "value"));
        JsonNode value = node.get("value");
        if (value == null || value.isNull()) {
            throw error(where + ".value", "missing");
        }
        String filter = null;
        JsonNode filterNode = node.get("filter");
        if (filterNode != null && !filterNode.isNull()) {
            if (!filterNode.isValueNode()) {
                throw error(where + ".filter", "expected a string, got " + describe(filterNode));
            }
            filter = filterNode.asText();
        }
        Double scalar = number(value, where + ".value");
        Setting inner = scalar != null
                ? new Setting.Constant(scalar)
                : value.isArray() ? gradient(value, where + ".value") : null;
        if (inner == null) {
            throw error(where + ".value", "expected a number or a list of numbers, got " + describe(value));
        }
        return new Setting.Condition(filter, inner);
    }

    /** A number, a numeric string or a boolean as a number; null for anything else. */
    private Double number(JsonNode node, String where) {
        if (node == null || node.isNull()) {
            return null;
        }
        if (node.isNumber()) {
            return node.asDouble();
        }
        if (node.isBoolean()) {
            return node.asBoolean() ? 1.0 : 0.0;
        }
        if (node.isTextual()) {
            String text = node.asText().strip().toLowerCase(Locale.ROOT);
            switch (text) {
                case "true", "yes", "on" -> {
                    return 1.0;
                }
                case "false", "no", "off" -> {
                    return 0.0;
                }
                default -> {}
            }
            try {
                double value = Double.parseDouble(text);
                if (Double.isNaN(value)) {
                    throw error(where, "NaN is not a valid value");
                }
                return value;
            } catch (NumberFormatException e) {
                return null;
            }
        }
        return null;
    }

    private DType dtype(JsonNode root, String key) {
        JsonNode node = root.get(key);
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isTextual()) {
            throw error(key, "expected bfloat16, float16 or float32, got " + describe(node));
        }
        String name = node.asText().strip();
        if (name.startsWith("torch.")) {
            name = name.substring("torch.".length());
        }
        return switch (name) {
            case "bfloat16", "bf16" -> DType.BF16;
            case "float16", "half", "fp16" -> DType.F16;
            case "float32", "float", "fp32" -> DType.F32;
            default ->
                throw error(key, "unknown dtype '" + node.asText() + "' (expected bfloat16, float16 or float32)");
        };
    }

    private String tokenizerSource(JsonNode root) {
        JsonNode legacy = root.get("tokenizer_source");
        JsonNode modern = root.get("tokenizer");
        if (legacy != null && modern != null) {
            throw error("tokenizer", "tokenizer and tokenizer_source are mutually exclusive");
        }
        String where = "tokenizer_source";
        JsonNode source = legacy;
        if (modern != null && !modern.isNull()) {
            if (!modern.isObject()) {
                throw error("tokenizer", "expected {source}, got " + describe(modern));
            }
            checkKeys("tokenizer", modern, Set.of("source", "tokens", "pad_to_multiple_of"));
            if (modern.has("tokens") || modern.has("pad_to_multiple_of")) {
                throw error(
                        "tokenizer", "per-token overrides and padding need a tokenizer merge, which is not supported");
            }
            where = "tokenizer.source";
            source = modern.get("source");
            if (source == null) {
                throw error(
                        where,
                        "mergekit's default 'union' needs a tokenizer merge, which is not supported;"
                                + " set source: base");
            }
        }
        if (source == null || source.isNull()) {
            return null;
        }
        if (!source.isTextual()) {
            throw error(where, "expected 'base', got " + describe(source));
        }
        if (!source.asText().equals("base")) {
            throw error(
                    where,
                    "'" + source.asText() + "' needs a tokenizer merge, which is not supported;"
                            + " use 'base' (the base model's tokenizer and vocabulary)");
        }
        return "base";
    }

    private static String describe(JsonNode node) {
        if (node.isObject()) {
            return "a mapping";
        }
        if (node.isArray()) {
            return "a list";
        }
        if (node.isTextual()) {
            return "'" + node.asText() + "'";
        }
        return node.toString();
    }
}
