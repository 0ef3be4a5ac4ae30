package dev.safemerge.app;

import dev.safemerge.model.Model;
import dev.safemerge.model.ModelLoadOptions;
import dev.safemerge.tensor.AtomicFile;
import dev.safemerge.tensor.BadInputException;
import dev.safemerge.tensor.DType;
import dev.safemerge.tensor.SafetensorsWriter;
import dev.safemerge.tensor.TensorSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(
        name = "forward",
        mixinStandardHelpOptions = true,
        description = "Run the model over token ids and write the float32 logits of every position "
                + "(one tensor 'logits' of shape [n_ids, vocab]) to a safetensors file.",
        footer = {
            "",
            "Example:",
            "  safemerge forward --model MODEL_DIR \\",
            "      --ids 128000,9906,1917 --out logits.safetensors"
        })
final class ForwardCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "DIR", description = "HF model directory.")
    Path model;

    @Option(names = "--adapter", paramLabel = "DIR", description = "PEFT LoRA adapter directory to apply.")
    Path adapter;

    @Option(
            names = "--merge-adapter",
            description = "Merge the adapter into the weights (rounded to their dtype) instead of running it as "
                    + "separate float32 low-rank matmuls.")
    boolean mergeAdapter;

    @Option(
            names = "--quantize",
            paramLabel = "none|q8",
            defaultValue = "none",
            description = "Weight storage: none (stored dtype) or q8 (int8, one scale per 32 weights). Default: none.")
    String quantize;

    @Option(names = "--ids", required = true, split = ",", paramLabel = "ID", description = "Token ids.")
    List<Integer> ids;

    @Option(names = "--out", required = true, paramLabel = "FILE", description = "Output .safetensors file.")
    Path out;

    @Option(names = "--threads", paramLabel = "N", description = "Worker threads (default: one per core).")
    Integer threads;

    @Mixin
    OverwriteOption overwrite;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        overwrite.checkFile("--out", out);
        ModelLoadOptions options = ModelLoadOptions.defaults()
                .withQuantization(ModelLoadOptions.Quantization.parse(quantize))
                .withThreads(ThreadCount.resolve(threads));
        if (adapter != null) {
            options = options.withAdapter(adapter, mergeAdapter);
        } else if (mergeAdapter) {
            throw new BadInputException("--merge-adapter needs --adapter");
        }
        if (ids.isEmpty()) {
            throw new BadInputException("--ids: give at least one token id");
        }
        try (Model loaded = Model.load(model, options)) {
            int vocab = loaded.spec().vocabSize();
            int[] tokens = new int[ids.size()];
            for (int i = 0; i < tokens.length; i++) {
                tokens[i] = ids.get(i);
                if (tokens[i] < 0 || tokens[i] >= vocab) {
                    throw new BadInputException("--ids: token id " + tokens[i] + " is outside the vocabulary of "
                            + vocab + " (vocab_size in " + model.resolve("config.json") + ")");
                }
            }
            float[][] logits = loaded.forward(tokens);
            writeLogits(out, logits, vocab);
            spec.commandLine().getOut().printf("wrote logits [%d, %d] to %s%n", tokens.length, vocab, out);
        }
        return Main.EXIT_OK;
    }

    private static void writeLogits(Path target, float[][] logits, int vocab) {
        Path dir = target.toAbsolutePath().getParent();
        if (dir == null || !Files.isDirectory(dir)) {
            throw new BadInputException("--out: directory " + dir + " does not exist");
        }
        TensorSpec tensor = new TensorSpec("logits", DType.F32, new long[] {logits.length, vocab});
        AtomicFile.replace(target, temp -> {
            try (SafetensorsWriter writer = SafetensorsWriter.create(temp, List.of(tensor), Map.of("format", "pt"))) {
                for (int i = 0; i < logits.length; i++) {
                    writer.writeFloats("logits", (long) i * vocab, logits[i], 0, vocab);
                }
                writer.finish();
            }
        });
    }
}
