package dev.safemerge.tensor;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/** Writes PEFT-compatible LoRA adapter directories atomically (float32 factors). */
public final class LoraAdapterWriter {
    private LoraAdapterWriter() {}

    /** Same as {@code write(dir, config, weightsByBaseTensor, metadata, false)}. */
    public static void write(
            Path dir, LoraConfig config, Map<String, LoraWeights> weightsByBaseTensor, Map<String, String> metadata) {
        write(dir, config, weightsByBaseTensor, metadata, false);
    }

    /**
     * Writes {@code adapter_config.json} and {@code adapter_model.safetensors} into {@code dir}.
     *
     * @param weightsByBaseTensor factors keyed by the base tensor they adapt ({@code model.layers.0.self_attn.q_proj.weight});
     *     each rank, scale and fan_in_fan_out must agree with {@code config}, because PEFT recomputes them from it
     * @param overwrite replace an existing non-empty {@code dir}
     */
    public static void write(
            Path dir,
            LoraConfig config,
            Map<String, LoraWeights> weightsByBaseTensor,
            Map<String, String> metadata,
            boolean overwrite) {
        if (!config.modulesToSave().isEmpty()) {
            throw new IllegalArgumentException("writing modules_to_save weights is not supported");
        }
        if (weightsByBaseTensor.isEmpty()) {
            throw new IllegalArgumentException("an adapter needs at least one LoRA layer");
        }
        Map<String, LoraWeights> sorted = new TreeMap<>(weightsByBaseTensor);
        List<TensorSpec> specs = new ArrayList<>();
        for (Map.Entry<String, LoraWeights> entry : sorted.entrySet()) {
            String base = entry.getKey();
            if (!base.endsWith(".weight")) {
                throw new IllegalArgumentException("'" + base + "' is not a weight tensor name");
            }
            String module = base.substring(0, base.length() - ".weight".length());
            LoraWeights w = entry.getValue();
            double expectedScale = config.scaling(module);
            if (w.rank() != config.rank(module)
                    || Math.abs(w.scale() - expectedScale) > 1e-6 * Math.abs(expectedScale)
                    || w.fanInFanOut() != config.fanInFanOut()) {
                throw new IllegalArgumentException("LoRA weights of '" + base + "' (rank " + w.rank() + ", scale "
                        + w.scale() + ") disagree with the config (rank " + config.rank(module) + ", scale "
                        + expectedScale + ")");
            }
            if (!config.targets(module)) {
                throw new IllegalArgumentException("'" + module + "' is not selected by target_modules");
            }
            specs.add(new TensorSpec(factorName(module, "A"), DType.F32, new long[] {w.rank(), w.in()}));
            specs.add(new TensorSpec(factorName(module, "B"), DType.F32, new long[] {w.out(), w.rank()}));
        }
        Map<String, String> fileMetadata = new TreeMap<>(metadata == null ? Map.of() : metadata);
        fileMetadata.putIfAbsent("format", "pt");
        try (AtomicDirectory output = AtomicDirectory.begin(dir, overwrite)) {
            try (SafetensorsWriter writer =
                    SafetensorsWriter.create(output.path().resolve(LoraAdapter.WEIGHTS_FILE), specs, fileMetadata)) {
                for (Map.Entry<String, LoraWeights> entry : sorted.entrySet()) {
                    String module = entry.getKey().substring(0, entry.getKey().length() - ".weight".length());
                    writer.writeFloats(factorName(module, "A"), entry.getValue().a());
                    writer.writeFloats(factorName(module, "B"), entry.getValue().b());
                }
                writer.finish();
            }
            Files.writeString(output.path().resolve(LoraConfig.FILE_NAME), configJson(config), StandardCharsets.UTF_8);
            output.commit();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write adapter " + dir, e);
        }
    }

    static String factorName(String module, String factor) {
        return LoraAdapter.PREFIX + module + ".lora_" + factor + ".weight";
    }

    /** adapter_config.json with the keys PEFT's LoraConfig reads. */
    public static String configJson(LoraConfig config) {
        ObjectMapper json = JsonMappers.plain();
        ObjectNode root = json.createObjectNode();
        ObjectNode alphaPattern = root.putObject("alpha_pattern");
        config.alphaPattern().forEach((key, alpha) -> putNumber(alphaPattern, key, alpha));
        root.put("base_model_name_or_path", config.baseModelNameOrPath());
        root.put("bias", config.bias());
        root.put("fan_in_fan_out", config.fanInFanOut());
        root.put("inference_mode", true);
        root.put("init_lora_weights", true);
        root.putNull("layers_pattern");
        root.putNull("layers_to_transform");
        putNumber(root, "lora_alpha", config.loraAlpha());
        root.put("lora_dropout", config.loraDropout());
        root.putNull("modules_to_save");
        root.put("peft_type", "LORA");
        root.put("r", config.r());
        ObjectNode rankPattern = root.putObject("rank_pattern");
        config.rankPattern().forEach(rankPattern::put);
        root.putNull("revision");
        if (config.targetModulesRegex() != null) {
            root.put("target_modules", config.targetModulesRegex());
        } else {
            ArrayNode targets = root.putArray("target_modules");
            new TreeSet<>(config.targetModules()).forEach(targets::add);
        }
        root.put("task_type", config.taskType());
        root.put("use_dora", false);
        root.put("use_rslora", config.useRslora());
        try {
            return json.writerWithDefaultPrettyPrinter().writeValueAsString(root) + "\n";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void putNumber(ObjectNode node, String key, double value) {
        if (value == Math.rint(value) && Math.abs(value) < 1e15) {
            node.put(key, (long) value);
        } else {
            node.put(key, value);
        }
    }
}
