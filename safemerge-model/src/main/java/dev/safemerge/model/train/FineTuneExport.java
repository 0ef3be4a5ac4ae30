package dev.safemerge.model.train;

import dev.safemerge.tensor.AtomicFile;
import dev.safemerge.tensor.BadInputException;
import dev.safemerge.tensor.LoraAdapterWriter;
import dev.safemerge.tensor.LoraConfig;
import dev.safemerge.tensor.LoraWeights;
import dev.safemerge.tensor.ModelDirectory;
import dev.safemerge.tensor.ModelWriter;
import dev.safemerge.tensor.TensorInfo;
import dev.safemerge.tensor.TensorSpec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/** Writes what a run produced: a PEFT adapter directory, or with full fine-tuning an HF model directory. */
public final class FineTuneExport {
    private FineTuneExport() {}

    private static final String PREFIX = "base_model.model.";

    /** Refuses an output directory that exists and is not empty, before any training time is spent. */
    public static void checkOutputFree(Path out) {
        try {
            if (Files.exists(out) && (!Files.isDirectory(out) || hasEntries(out))) {
                throw new BadInputException(out + ": output directory exists and is not empty (choose another path)");
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static boolean hasEntries(Path dir) throws IOException {
        try (var entries = Files.list(dir)) {
            return entries.findAny().isPresent();
        }
    }

    /** The trained LoRA factors keyed by the base tensor they adapt, as LoraAdapterWriter takes them. */
    public static Map<String, LoraWeights> loraWeights(TrainableModel model, LoraSettings lora) {
        Map<String, Parameter> factors = new LinkedHashMap<>();
        for (Parameter p : model.parameters()) {
            factors.put(p.name(), p);
        }
        Map<String, LoraWeights> weights = new LinkedHashMap<>();
        for (Parameter p : model.parameters()) {
            String suffix = ".lora_A.weight";
            if (!p.name().endsWith(suffix)) {
                continue;
            }
            String module = p.name().substring(PREFIX.length(), p.name().length() - suffix.length());
            Parameter b = factors.get(PREFIX + module + ".lora_B.weight");
            int[] aShape = p.shape();
            weights.put(
                    module + ".weight",
                    new LoraWeights(
                            p.values(), b.values(), aShape[0], aShape[1], b.shape()[0], (float) lora.scale(), false));
        }
        return weights;
    }

    /** PEFT's adapter_config.json for these settings. */
    public static LoraConfig loraConfig(LoraSettings lora, String baseModel) {
        return new LoraConfig(
                lora.rank(),
                lora.alpha(),
                List.copyOf(new TreeSet<>(lora.targetModules())),
                null,
                lora.rsLora(),
                Map.of(),
                Map.of(),
                false,
                List.of(),
                baseModel,
                lora.dropout(),
                "none",
                "CAUSAL_LM");
    }

    /**
     * Writes the adapter atomically into {@code out}, then adds {@code extraFiles} (a summary, a plot) to it, each
     * written to a temporary file, fsynced and renamed into place.
     */
    public static void writeAdapter(
            Path out,
            TrainableModel model,
            LoraSettings lora,
            String baseModel,
            Map<String, String> metadata,
            Map<String, byte[]> extraFiles) {
        writeAdapter(out, model, lora, baseModel, metadata, extraFiles, false);
    }

    /** As above; with {@code overwrite} an existing {@code out} is replaced in one rename once the adapter is complete. */
    public static void writeAdapter(
            Path out,
            TrainableModel model,
            LoraSettings lora,
            String baseModel,
            Map<String, String> metadata,
            Map<String, byte[]> extraFiles,
            boolean overwrite) {
        LoraAdapterWriter.write(out, loraConfig(lora, baseModel), loraWeights(model, lora), metadata, overwrite);
        for (Map.Entry<String, byte[]> file : extraFiles.entrySet()) {
            AtomicFile.write(out.resolve(file.getKey()), file.getValue());
        }
    }

    /**
     * Writes a full model directory: every tensor of the base checkpoint in its stored dtype, trained ones replaced
     * by their new values (rounded to that dtype), plus config.json, tokenizer files and {@code extraFiles}.
     */
    public static void writeModel(
            Path out,
            TrainableModel model,
            ModelDirectory base,
            Map<String, String> metadata,
            Map<String, byte[]> extraFiles) {
        writeModel(out, model, base, metadata, extraFiles, false);
    }

    /** As above; with {@code overwrite} an existing {@code out} is replaced in one rename once the model is complete. */
    public static void writeModel(
            Path out,
            TrainableModel model,
            ModelDirectory base,
            Map<String, String> metadata,
            Map<String, byte[]> extraFiles,
            boolean overwrite) {
        Map<String, Parameter> trained = new LinkedHashMap<>();
        for (Parameter p : model.parameters()) {
            trained.put(p.name(), p);
        }
        List<TensorSpec> specs = new ArrayList<>();
        for (String name : base.tensorNames()) {
            TensorInfo info = base.info(name);
            specs.add(new TensorSpec(name, info.dtype(), info.shape()));
        }
        try (ModelWriter writer = ModelWriter.create(out, specs, 5_000_000_000L, metadata, overwrite)) {
            for (String name : base.tensorNames()) {
                Parameter p = trained.get(name);
                if (p != null) {
                    writer.writeFloats(name, p.values());
                } else {
                    // Not trained (an ignored lm_head of a tied model, a stale rotary buffer): copied as stored.
                    writer.writeBytes(name, 0, base.bytes(name));
                }
            }
            writer.copyFile(base.path().resolve(ModelDirectory.CONFIG), ModelDirectory.CONFIG);
            for (Path auxiliary : base.auxiliaryFiles()) {
                writer.copyFile(auxiliary, auxiliary.getFileName().toString());
            }
            for (Map.Entry<String, byte[]> file : extraFiles.entrySet()) {
                writer.writeFile(file.getKey(), file.getValue());
            }
            writer.commit();
        }
    }
}
