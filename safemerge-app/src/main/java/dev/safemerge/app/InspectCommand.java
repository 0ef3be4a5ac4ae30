package dev.safemerge.app;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.safemerge.model.ModelConfig;
import dev.safemerge.tensor.BadInputException;
import dev.safemerge.tensor.ByteSizes;
import dev.safemerge.tensor.JsonMappers;
import dev.safemerge.tensor.LoraAdapter;
import dev.safemerge.tensor.LoraConfig;
import dev.safemerge.tensor.ModelDirectory;
import dev.safemerge.tensor.SafetensorsFile;
import dev.safemerge.tensor.TensorInfo;
import dev.safemerge.tensor.TensorSource;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.function.Function;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(
        name = "inspect",
        mixinStandardHelpOptions = true,
        description = "Summarize a model directory (sharded or not), a PEFT LoRA adapter directory or a .safetensors"
                + " file: architecture or adapter settings, then every tensor with dtype, shape, parameters and bytes.",
        footer = {"", "Examples:", "  safemerge inspect MODEL_DIR", "  safemerge inspect ADAPTER_DIR --json"})
final class InspectCommand implements Callable<Integer> {
    @Parameters(
            paramLabel = "PATH",
            description = "A model directory, a PEFT adapter directory or a .safetensors file.")
    Path path;

    @Option(names = "--json", description = "Print the same information as one JSON object.")
    boolean json;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    private static final ObjectMapper JSON = JsonMappers.plain();

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        ObjectNode report;
        if (Files.isDirectory(path) && LoraAdapter.isAdapterDirectory(path)) {
            try (LoraAdapter adapter = LoraAdapter.open(path)) {
                report = adapterReport(adapter);
            }
        } else if (Files.isDirectory(path)) {
            try (ModelDirectory model = ModelDirectory.open(path)) {
                report = modelReport(model);
            }
        } else if (Files.isRegularFile(path)) {
            try (SafetensorsFile file = SafetensorsFile.open(path)) {
                report = fileReport(file);
            }
        } else {
            throw new BadInputException(path + ": no such file or directory");
        }
        if (json) {
            out.println(JsonMappers.pretty().writeValueAsString(report));
        } else {
            printText(report, out);
        }
        out.flush();
        return Main.EXIT_OK;
    }

    private static ObjectNode modelReport(ModelDirectory model) {
        ObjectNode report = JSON.createObjectNode();
        report.put("kind", "model");
        report.put("path", model.path().toString());
        ModelConfig config = ModelConfig.read(model.path().resolve(ModelDirectory.CONFIG));
        ObjectNode summary = report.putObject("config");
        summary.put("architecture", config.architecture());
        summary.put("model_type", config.modelType());
        summary.put("num_hidden_layers", config.numHiddenLayers());
        summary.put("hidden_size", config.hiddenSize());
        summary.put("intermediate_size", config.intermediateSize());
        summary.put("num_attention_heads", config.numAttentionHeads());
        summary.put("num_key_value_heads", config.numKeyValueHeads());
        summary.put("head_dim", config.headDim());
        summary.put("vocab_size", config.vocabSize());
        summary.put("torch_dtype", config.torchDtype());
        summary.put("tie_word_embeddings", config.tieWordEmbeddings());
        ArrayNode files = report.putArray("files");
        model.weightFiles().forEach(file -> files.add(file.getFileName().toString()));
        ArrayNode auxiliary = report.putArray("auxiliary_files");
        model.auxiliaryFiles().forEach(file -> auxiliary.add(file.getFileName().toString()));
        addTensors(
                report, model, name -> model.shardOf(name).path().getFileName().toString());
        return report;
    }

    private static ObjectNode adapterReport(LoraAdapter adapter) {
        ObjectNode report = JSON.createObjectNode();
        report.put("kind", "adapter");
        report.put("path", adapter.path().toString());
        LoraConfig config = adapter.config();
        ObjectNode summary = report.putObject("config");
        summary.put("r", config.r());
        summary.put("lora_alpha", config.loraAlpha());
        if (config.targetModulesRegex() != null) {
            summary.put("target_modules", config.targetModulesRegex());
        } else {
            ArrayNode targets = summary.putArray("target_modules");
            config.targetModules().forEach(targets::add);
        }
        summary.put("use_rslora", config.useRslora());
        summary.put("fan_in_fan_out", config.fanInFanOut());
        summary.put("base_model_name_or_path", config.baseModelNameOrPath());
        ArrayNode saved = summary.putArray("modules_to_save");
        config.modulesToSave().forEach(saved::add);
        ArrayNode targeted = report.putArray("targeted_tensors");
        for (String base : adapter.targetedBaseTensors()) {
            String module = base.substring(0, base.length() - ".weight".length());
            ObjectNode entry = targeted.addObject();
            entry.put("tensor", base);
            entry.put("rank", config.rank(module));
            entry.put("alpha", config.alpha(module));
            entry.put("scaling", config.scaling(module));
        }
        ArrayNode replaced = report.putArray("replaced_tensors");
        adapter.replacedBaseTensors().forEach(replaced::add);
        addTensors(report, adapter.file(), name -> LoraAdapter.WEIGHTS_FILE);
        return report;
    }

    private static ObjectNode fileReport(SafetensorsFile file) {
        ObjectNode report = JSON.createObjectNode();
        report.put("kind", "safetensors");
        report.put("path", file.path().toString());
        ObjectNode metadata = report.putObject("metadata");
        file.metadata().forEach(metadata::put);
        addTensors(report, file, name -> file.path().getFileName().toString());
        return report;
    }

    private static void addTensors(ObjectNode report, TensorSource source, Function<String, String> fileOf) {
        ArrayNode tensors = report.putArray("tensors");
        long parameters = 0;
        long bytes = 0;
        for (String name : source.tensorNames()) {
            TensorInfo info = source.info(name);
            ObjectNode entry = tensors.addObject();
            entry.put("name", name);
            entry.put("dtype", info.dtype().name());
            ArrayNode shape = entry.putArray("shape");
            for (long dim : info.shape()) {
                shape.add(dim);
            }
            entry.put("parameters", info.elementCount());
            entry.put("bytes", info.byteSize());
            entry.put("file", fileOf.apply(name));
            parameters += info.elementCount();
            bytes += info.byteSize();
        }
        report.put("tensor_count", tensors.size());
        report.put("parameters", parameters);
        report.put("bytes", bytes);
    }

    private static void printText(ObjectNode report, PrintWriter out) {
        String kind = report.get("kind").asText();
        ObjectNode config = (ObjectNode) report.get("config");
        switch (kind) {
            case "model" -> {
                out.printf(
                        "model: %s (%d weight file%s)%n",
                        report.get("path").asText(),
                        report.get("files").size(),
                        report.get("files").size() == 1 ? "" : "s");
                out.printf(
                        "architecture: %s (model_type %s)%n",
                        config.get("architecture").asText("?"),
                        config.get("model_type").asText());
                out.printf(
                        "layers: %d  hidden: %d  intermediate: %d  heads: %d  kv heads: %d  head dim: %d  vocab: %d%n",
                        config.get("num_hidden_layers").asInt(),
                        config.get("hidden_size").asInt(),
                        config.get("intermediate_size").asInt(),
                        config.get("num_attention_heads").asInt(),
                        config.get("num_key_value_heads").asInt(),
                        config.get("head_dim").asInt(),
                        config.get("vocab_size").asInt());
                out.printf(
                        "dtype: %s  tied embeddings: %s%n",
                        config.get("torch_dtype").asText("unset"),
                        config.get("tie_word_embeddings").asBoolean() ? "yes" : "no");
            }
            case "adapter" -> {
                out.printf("LoRA adapter: %s%n", report.get("path").asText());
                out.printf(
                        "base model: %s%n",
                        config.get("base_model_name_or_path").asText("unset"));
                out.printf(
                        Locale.ROOT,
                        "r: %d  alpha: %s  rslora: %s  fan_in_fan_out: %s%n",
                        config.get("r").asInt(),
                        number(config.get("lora_alpha").asDouble()),
                        config.get("use_rslora").asBoolean(),
                        config.get("fan_in_fan_out").asBoolean());
                out.printf(
                        "target modules: %s%n",
                        config.get("target_modules").isArray()
                                ? String.join(
                                        ", ",
                                        config.get("target_modules")
                                                .valueStream()
                                                .map(n -> n.asText())
                                                .toList())
                                : "regex " + config.get("target_modules").asText());
                if (!config.get("modules_to_save").isEmpty()) {
                    out.printf(
                            "modules to save: %s%n",
                            String.join(
                                    ", ",
                                    config.get("modules_to_save")
                                            .valueStream()
                                            .map(n -> n.asText())
                                            .toList()));
                }
                out.printf(
                        "targeted tensors: %d%n", report.get("targeted_tensors").size());
                for (var entry : report.get("targeted_tensors")) {
                    out.printf(
                            Locale.ROOT,
                            "  %-60s r=%d alpha=%s scaling=%s%n",
                            entry.get("tensor").asText(),
                            entry.get("rank").asInt(),
                            number(entry.get("alpha").asDouble()),
                            number(entry.get("scaling").asDouble()));
                }
            }
            default -> out.printf("safetensors file: %s%n", report.get("path").asText());
        }
        out.printf("%-64s %-8s %-22s %14s %16s%n", "TENSOR", "DTYPE", "SHAPE", "PARAMETERS", "BYTES");
        for (var tensor : report.get("tensors")) {
            out.printf(
                    Locale.ROOT,
                    "%-64s %-8s %-22s %,14d %,16d%n",
                    tensor.get("name").asText(),
                    tensor.get("dtype").asText(),
                    tensor.get("shape").toString().replace(",", ", "),
                    tensor.get("parameters").asLong(),
                    tensor.get("bytes").asLong());
        }
        out.printf(
                Locale.ROOT,
                "tensors: %d  parameters: %,d  bytes: %,d (%s)%n",
                report.get("tensor_count").asInt(),
                report.get("parameters").asLong(),
                report.get("bytes").asLong(),
                ByteSizes.format(report.get("bytes").asLong()));
    }

    private static String number(double value) {
        return value == Math.rint(value) && Math.abs(value) < 1e15
                ? Long.toString((long) value)
                : String.format(Locale.ROOT, "%.6g", value);
    }
}
