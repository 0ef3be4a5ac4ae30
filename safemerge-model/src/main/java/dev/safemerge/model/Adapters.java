package dev.safemerge.model;

import com.fasterxml.jackson.databind.JsonNode;
import dev.safemerge.tensor.BadInputException;
import dev.safemerge.tensor.SafetensorsFile;
import dev.safemerge.tensor.TensorInfo;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * A PEFT LoRA adapter directory (adapter_config.json + adapter_model.safetensors) as low-rank deltas of base
 * weights: {@code scale = lora_alpha / r} (rsLoRA: {@code / sqrt(r)}), with rank_pattern/alpha_pattern overrides
 * matched like PEFT. Features that change the math beyond W + scale·B·A are refused.
 */
final class Adapters implements Function<String, LowRankDelta> {
    private static final String PREFIX = "base_model.model.";

    private final Map<String, LowRankDelta> byBaseTensor;
    private final Set<String> used = new HashSet<>();
    private final Path dir;

    private Adapters(Path dir, Map<String, LowRankDelta> byBaseTensor) {
        this.dir = dir;
        this.byBaseTensor = byBaseTensor;
    }

    static Adapters open(Path dir, ModelSpec spec) {
        Path configPath = dir.resolve("adapter_config.json");
        ConfigReader config = new ConfigReader(ModelSpec.readJson(configPath), configPath.toString());
        String file = configPath.toString();
        String peftType = config.stringOr("peft_type", "LORA");
        if (!peftType.equals("LORA")) {
            throw new BadInputException(file + ": peft_type '" + peftType + "' is not supported (only LORA)");
        }
        if (!config.stringOr("bias", "none").equals("none")) {
            throw new BadInputException(file + ": bias '" + config.stringOr("bias", "") + "' is not supported");
        }
        for (String key : new String[] {"use_dora", "lora_bias", "fan_in_fan_out"}) {
            if (config.boolOr(key, false)) {
                throw new BadInputException(file + ": " + key + "=true is not supported");
            }
        }
        for (String key : new String[] {"layer_replication", "modules_to_save", "target_parameters"}) {
            JsonNode node = config.root().get(key);
            if (node != null && !node.isNull() && !(node.isArray() && node.isEmpty())) {
                throw new BadInputException(file + ": " + key + " is not supported");
            }
        }
        int r = config.requiredInt("r");
        double alpha = config.doubleOr("lora_alpha", r);
        boolean rslora = config.boolOr("use_rslora", false);
        Map<String, Double> rankPattern = patterns(config, "rank_pattern");
        Map<String, Double> alphaPattern = patterns(config, "alpha_pattern");

        Path weightsPath = dir.resolve("adapter_model.safetensors");
        if (!Files.isRegularFile(weightsPath)) {
            if (Files.isRegularFile(dir.resolve("adapter_model.bin"))) {
                throw new BadInputException(dir + ": only pickled adapter_model.bin found; pickles are refused");
            }
            throw new BadInputException(weightsPath + ": no such file");
        }
        Map<String, LowRankDelta> deltas = new LinkedHashMap<>();
        try (SafetensorsFile weights = SafetensorsFile.open(weightsPath)) {
            for (String name : weights.tensors().keySet()) {
                if (name.endsWith(".lora_B.weight")) {
                    continue;
                }
                if (!name.startsWith(PREFIX) || !name.endsWith(".lora_A.weight")) {
                    throw new BadInputException(weightsPath + ": tensor '" + name
                            + "' is not a LoRA A/B weight (embedding LoRA and saved modules are not supported)");
                }
                String module = name.substring(PREFIX.length(), name.length() - ".lora_A.weight".length());
                String bName = PREFIX + module + ".lora_B.weight";
                if (!weights.contains(bName)) {
                    throw new BadInputException(
                            weightsPath + ": tensor '" + name + "' has no matching '" + bName + "'");
                }
                TensorInfo a = weights.info(name);
                TensorInfo b = weights.info(bName);
                if (a.rank() != 2 || b.rank() != 2 || a.dim(0) != b.dim(1)) {
                    throw new BadInputException(weightsPath + ": '" + name + "' " + a.shapeString() + " and '" + bName
                            + "' " + b.shapeString() + " are not [r, in] and [out, r]");
                }
                int rank = (int) a.dim(0);
                double moduleRank = match(rankPattern, module).orElse(r);
                double moduleAlpha = match(alphaPattern, module).orElse(alpha);
                if (moduleRank != rank) {
                    throw new BadInputException(weightsPath + ": '" + name + "' has rank " + rank + " but " + file
                            + " gives r=" + (int) moduleRank + " for it");
                }
                double scale = rslora ? moduleAlpha / Math.sqrt(rank) : moduleAlpha / rank;
                deltas.put(
                        module + ".weight",
                        new LowRankDelta(
                                weights.readFloats(name),
                                weights.readFloats(bName),
                                rank,
                                (int) a.dim(1),
                                (int) b.dim(0),
                                (float) scale));
            }
        }
        if (deltas.isEmpty()) {
            throw new BadInputException(weightsPath + ": no LoRA weights found");
        }
        return new Adapters(dir, deltas);
    }

    private static Map<String, Double> patterns(ConfigReader config, String key) {
        Map<String, Double> result = new LinkedHashMap<>();
        ConfigReader child = config.child(key);
        if (child != null) {
            for (Iterator<Map.Entry<String, JsonNode>> it = child.root().fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                if (!e.getValue().isNumber()) {
                    throw new BadInputException(config.file() + ": " + key + "." + e.getKey() + " must be a number");
                }
                result.put(e.getKey(), e.getValue().asDouble());
            }
        }
        return result;
    }

    /** PEFT's rule: the first pattern key k for which the module path matches {@code (.*\.)?(k)$}. */
    private static java.util.OptionalDouble match(Map<String, Double> patterns, String module) {
        for (Map.Entry<String, Double> e : patterns.entrySet()) {
            if (Pattern.compile("(.*\\.)?(" + e.getKey() + ")$").matcher(module).matches()) {
                return java.util.OptionalDouble.of(e.getValue());
            }
        }
        return java.util.OptionalDouble.empty();
    }

    @Override
    public LowRankDelta apply(String baseTensorName) {
        LowRankDelta delta = byBaseTensor.get(baseTensorName);
        if (delta != null) {
            used.add(baseTensorName);
        }
        return delta;
    }

    /** Refuses adapters with weights for modules the model does not have or does not adapt. */
    void checkAllUsed() {
        for (String name : byBaseTensor.keySet()) {
            if (!used.contains(name)) {
                throw new BadInputException(
                        dir + ": adapter targets '" + name + "', which is not a linear layer of this model");
            }
        }
    }
}
