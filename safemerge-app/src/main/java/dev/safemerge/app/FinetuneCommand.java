package dev.safemerge.app;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.safemerge.model.ModelSpec;
import dev.safemerge.model.text.HfTokenizer;
import dev.safemerge.model.train.AdamW;
import dev.safemerge.model.train.CheckpointWeights;
import dev.safemerge.model.train.FineTuneExport;
import dev.safemerge.model.train.HfTrainingTokenizer;
import dev.safemerge.model.train.LoraSettings;
import dev.safemerge.model.train.LrSchedule;
import dev.safemerge.model.train.Parameter;
import dev.safemerge.model.train.SftData;
import dev.safemerge.model.train.TrainableModel;
import dev.safemerge.model.train.Trainer;
import dev.safemerge.model.train.TrainingCheckpoint;
import dev.safemerge.model.train.TrainingOptions;
import dev.safemerge.model.train.TrainingSummary;
import dev.safemerge.tensor.BadInputException;
import dev.safemerge.tensor.JsonMappers;
import dev.safemerge.tensor.ModelDirectory;
import dev.safemerge.tensor.ModelWriter;
import dev.safemerge.tensor.kernel.KernelPool;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(
        name = "finetune",
        mixinStandardHelpOptions = true,
        description = {
            "Fine-tune a model on chat or prompt/response JSONL with LoRA (default) or in full.",
            "Writes a PEFT adapter directory (or with --full an HF model directory), a training summary and a "
                    + "loss-curve PNG into --out.",
            "A checkpoint directory OUT.checkpoint beside it is written every --save-every steps and on Ctrl-C; "
                    + "--resume continues from it."
        },
        footer = {
            "",
            "Data: one JSON object per line, {\"messages\": [{\"role\": \"user\", \"content\": ...}, "
                    + "{\"role\": \"assistant\", \"content\": ...}]} (rendered with the model's chat template) or "
                    + "{\"prompt\": ..., \"response\": ...}. Only assistant/response tokens are learned.",
            "",
            "Example:",
            "  safemerge finetune --model MODEL_DIR --data TRAIN.jsonl \\",
            "      --out adapter-qa --lora-r 8 --lora-alpha 16 --epochs 3 \\",
            "      --batch-size 4 --grad-accum 4 --val-split 0.1"
        })
final class FinetuneCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "DIR", description = "Base model (HF directory).")
    Path model;

    @Option(names = "--data", required = true, paramLabel = "FILE", description = "Training data (JSONL).")
    Path data;

    @Option(
            names = "--out",
            required = true,
            paramLabel = "DIR",
            description = "Output directory (must not exist or be empty unless --overwrite).")
    Path out;

    @Option(
            names = "--lora-r",
            defaultValue = "8",
            paramLabel = "R",
            description = "LoRA rank (default ${DEFAULT-VALUE}).")
    int loraR;

    @Option(
            names = "--lora-alpha",
            defaultValue = "16",
            paramLabel = "ALPHA",
            description = "LoRA alpha (default ${DEFAULT-VALUE}).")
    double loraAlpha;

    @Option(
            names = "--lora-dropout",
            defaultValue = "0.05",
            paramLabel = "P",
            description = "LoRA dropout (default ${DEFAULT-VALUE}).")
    double loraDropout;

    @Option(names = "--rslora", description = "Scale by alpha/sqrt(r) instead of alpha/r (rsLoRA).")
    boolean rsLora;

    @Option(
            names = "--target-modules",
            split = ",",
            defaultValue = "q_proj,v_proj",
            paramLabel = "MODULE",
            description = "Adapted projections, or all-linear (default ${DEFAULT-VALUE}).")
    List<String> targetModules;

    @Option(names = "--full", description = "Train every weight instead of LoRA; writes an HF model directory.")
    boolean full;

    @Option(
            names = "--lr",
            defaultValue = "1e-4",
            paramLabel = "LR",
            description = "Peak learning rate (default ${DEFAULT-VALUE}).")
    double learningRate;

    @Option(
            names = "--epochs",
            defaultValue = "3",
            paramLabel = "N",
            description = "Passes over the data (default ${DEFAULT-VALUE}).")
    int epochs;

    @Option(
            names = "--max-steps",
            defaultValue = "0",
            paramLabel = "N",
            description = "Optimizer steps to run instead of --epochs.")
    long maxSteps;

    @Option(
            names = "--batch-size",
            defaultValue = "4",
            paramLabel = "N",
            description = "Sequences per micro-batch (default ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(
            names = "--grad-accum",
            defaultValue = "1",
            paramLabel = "N",
            description = "Micro-batches per step (default ${DEFAULT-VALUE}).")
    int gradAccum;

    @Option(
            names = "--max-len",
            defaultValue = "1024",
            paramLabel = "N",
            description = "Longest sequence in tokens (default ${DEFAULT-VALUE}).")
    int maxLength;

    @Option(
            names = "--overlong",
            defaultValue = "truncate",
            paramLabel = "truncate|drop",
            description = "What to do with longer sequences: truncate or drop (default ${DEFAULT-VALUE}).")
    String overlong;

    @Option(
            names = "--seed",
            defaultValue = "42",
            paramLabel = "SEED",
            description = "Seed of everything random (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(
            names = "--val-split",
            defaultValue = "0",
            paramLabel = "FRACTION",
            description = "Fraction held out for validation loss.")
    double validationSplit;

    @Option(
            names = "--warmup-steps",
            defaultValue = "0",
            paramLabel = "N",
            description = "Linear warmup steps (default ${DEFAULT-VALUE}).")
    long warmupSteps;

    @Option(
            names = "--schedule",
            defaultValue = "linear",
            paramLabel = "linear|cosine|constant",
            description = "Learning-rate decay: linear, cosine or constant (default ${DEFAULT-VALUE}).")
    String schedule;

    @Option(
            names = "--weight-decay",
            defaultValue = "0",
            paramLabel = "X",
            description = "AdamW weight decay (default ${DEFAULT-VALUE}).")
    double weightDecay;

    @Option(
            names = "--max-grad-norm",
            defaultValue = "1.0",
            paramLabel = "NORM",
            description = "Clip the global gradient norm, 0 for none (default ${DEFAULT-VALUE}).")
    double maxGradNorm;

    @Option(
            names = "--save-every",
            defaultValue = "0",
            paramLabel = "N",
            description = "Checkpoint every N steps (0: only on Ctrl-C).")
    long saveEvery;

    @Option(names = "--resume", description = "Continue from OUT.checkpoint.")
    boolean resume;

    @Option(names = "--threads", paramLabel = "N", description = "Worker threads (default: all cores).")
    Integer threads;

    @Option(names = "--json", description = "Print the summary as JSON.")
    boolean json;

    @Mixin
    OverwriteOption overwrite;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    /** Where a run can be stopped and picked up again. */
    static Path checkpointDir(Path out) {
        Path absolute = out.toAbsolutePath().normalize();
        return absolute.resolveSibling(absolute.getFileName() + ".checkpoint");
    }

    @Override
    public Integer call() {
        KernelPool.setThreads(ThreadCount.resolve(threads));
        overwrite.checkDirectory(out);
        Path checkpoint = checkpointDir(out);
        if (!resume && Files.exists(checkpoint)) {
            throw new BadInputException(checkpoint + ": a checkpoint of an earlier run exists; pass --resume to "
                    + "continue it or delete it to start over");
        }
        if (resume && !Files.isDirectory(checkpoint)) {
            throw new BadInputException(checkpoint + ": no checkpoint to resume");
        }
        SftData.Overlong overlongPolicy = switch (overlong) {
            case "truncate" -> SftData.Overlong.TRUNCATE;
            case "drop" -> SftData.Overlong.DROP;
            default -> throw new BadInputException("--overlong must be truncate or drop, got '" + overlong + "'");
        };
        LoraSettings lora = full
                ? null
                : new LoraSettings(loraR, loraAlpha, loraDropout, rsLora, LoraSettings.parseTargets(targetModules));
        TrainingOptions options = new TrainingOptions(
                epochs,
                maxSteps,
                batchSize,
                gradAccum,
                learningRate,
                LrSchedule.parse(schedule),
                warmupSteps,
                maxGradNorm,
                new AdamW.Settings(0.9, 0.999, 1e-8, weightDecay),
                seed,
                saveEvery);

        ModelSpec modelSpec = ModelSpec.read(model);
        SftData.Loaded loaded;
        try (HfTokenizer tokenizer = HfTokenizer.load(model)) {
            loaded = SftData.load(
                    data, new HfTrainingTokenizer(tokenizer), maxLength, overlongPolicy, validationSplit, seed);
        }
        PrintWriter err = spec.commandLine().getErr();
        if (loaded.truncated() > 0 || loaded.dropped() > 0 || loaded.withoutTargets() > 0) {
            err.printf(
                    Locale.ROOT,
                    "%s: %d of %d examples longer than --max-len %d were %s; %d had no response tokens left and were "
                            + "skipped%n",
                    data,
                    overlongPolicy == SftData.Overlong.DROP ? loaded.dropped() : loaded.truncated(),
                    loaded.lines(),
                    maxLength,
                    overlongPolicy == SftData.Overlong.DROP ? "dropped" : "truncated",
                    loaded.withoutTargets());
            err.flush();
        }

        try (ModelDirectory base = ModelDirectory.open(model)) {
            TrainableModel trainable = full
                    ? TrainableModel.full(modelSpec, new CheckpointWeights(base))
                    : TrainableModel.withLora(modelSpec, new CheckpointWeights(base), lora, seed);
            Trainer trainer = new Trainer(trainable, options, loaded.train(), loaded.validation());
            Map<String, String> settings = settings(lora);
            Trainer.State start = resume ? TrainingCheckpoint.load(checkpoint, trainer.optimizer(), settings) : null;

            CountDownLatch finished = new CountDownLatch(1);
            Thread onInterrupt = new Thread(() -> {
                trainer.requestStop();
                try {
                    finished.await(10, TimeUnit.MINUTES);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            Runtime.getRuntime().addShutdownHook(onInterrupt);
            Trainer.Result result;
            try {
                result = trainer.run(
                        start,
                        (state, optimizer) -> TrainingCheckpoint.save(checkpoint, state, optimizer, settings),
                        ConsoleProgress.of(spec));
            } finally {
                finished.countDown();
                try {
                    Runtime.getRuntime().removeShutdownHook(onInterrupt);
                } catch (IllegalStateException shuttingDown) {
                    // The JVM is exiting because of Ctrl-C; the hook is already running and returns now.
                }
            }
            if (result.interrupted()) {
                err.printf(
                        "stopped at step %d of %d; checkpoint saved to %s (continue with --resume)%n",
                        result.state().step(), result.totalSteps(), checkpoint);
                err.flush();
                return Main.EXIT_OK;
            }
            ObjectNode summary = new TrainingSummary(
                            model.toString(),
                            data.toString(),
                            ModelWriter.sha256(data),
                            lora,
                            options,
                            maxLength,
                            overlongPolicy,
                            validationSplit)
                    .toJson(
                            trainable.parameters().stream()
                                    .mapToLong(Parameter::size)
                                    .sum(),
                            trainer,
                            loaded,
                            result);
            summary.put("out", out.toString());
            Map<String, byte[]> extras = new LinkedHashMap<>();
            extras.put("training_summary.json", pretty(summary).getBytes(StandardCharsets.UTF_8));
            extras.put("loss_curve.png", lossCurve(result.state()));
            Map<String, String> metadata = Map.of("format", "pt");
            if (full) {
                FineTuneExport.writeModel(out, trainable, base, metadata, extras, overwrite.overwrite);
            } else {
                FineTuneExport.writeAdapter(
                        out, trainable, lora, model.toString(), metadata, extras, overwrite.overwrite);
            }
            deleteCheckpoint(checkpoint);
            PrintWriter stdout = spec.commandLine().getOut();
            if (json) {
                stdout.println(pretty(summary));
            } else {
                printSummary(stdout, summary);
            }
            stdout.flush();
        }
        return Main.EXIT_OK;
    }

    private Map<String, String> settings(LoraSettings lora) {
        Map<String, String> settings = new LinkedHashMap<>();
        settings.put("model", model.toAbsolutePath().normalize().toString());
        settings.put("data_sha256", ModelWriter.sha256(data));
        settings.put("mode", full ? "full" : "lora");
        if (lora != null) {
            settings.put(
                    "lora",
                    lora.rank() + "/" + lora.alpha() + "/" + lora.dropout() + "/" + lora.rsLora() + "/"
                            + new java.util.TreeSet<>(lora.targetModules()));
        }
        settings.put("lr", Double.toString(learningRate));
        settings.put("epochs", Integer.toString(epochs));
        settings.put("max_steps", Long.toString(maxSteps));
        settings.put("batch_size", Integer.toString(batchSize));
        settings.put("grad_accum", Integer.toString(gradAccum));
        settings.put("max_len", maxLength + "/" + overlong);
        settings.put("seed", Long.toString(seed));
        settings.put("val_split", Double.toString(validationSplit));
        settings.put("warmup_steps", Long.toString(warmupSteps));
        settings.put("schedule", schedule);
        settings.put("weight_decay", Double.toString(weightDecay));
        settings.put("max_grad_norm", Double.toString(maxGradNorm));
        return settings;
    }

    private static void printSummary(PrintWriter out, ObjectNode s) {
        out.printf(
                Locale.ROOT,
                "%s: %d steps, %d tokens in %.1f s (%.0f tok/s), %,d trainable parameters%n",
                s.get("out").asText(),
                s.get("steps").asLong(),
                s.get("tokens").asLong(),
                s.get("seconds").asDouble(),
                s.get("tokens_per_second").asDouble(),
                s.get("trainable_parameters").asLong());
        ArrayNode curve = (ArrayNode) s.get("loss_curve");
        if (!curve.isEmpty()) {
            out.printf(
                    Locale.ROOT,
                    "loss %.4f -> %.4f%n",
                    curve.get(0).get("loss").asDouble(),
                    curve.get(curve.size() - 1).get("loss").asDouble());
        }
        if (s.has("final_validation_loss")) {
            out.printf(
                    Locale.ROOT,
                    "validation loss %.4f%n",
                    s.get("final_validation_loss").asDouble());
        }
    }

    private static String pretty(ObjectNode node) {
        try {
            return JsonMappers.pretty().writeValueAsString(node);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Training loss per step and validation loss per epoch, as a PNG. */
    static byte[] lossCurve(Trainer.State state) {
        XYChart chart = new XYChartBuilder()
                .width(800)
                .height(500)
                .title("Training loss")
                .xAxisTitle("optimizer step")
                .yAxisTitle("loss (mean per response token)")
                .build();
        chart.getStyler().setMarkerSize(3);
        double[] steps =
                state.steps().stream().mapToDouble(Trainer.StepRecord::step).toArray();
        double[] losses =
                state.steps().stream().mapToDouble(Trainer.StepRecord::loss).toArray();
        if (steps.length > 0) {
            chart.addSeries("train", steps, losses);
        }
        if (!state.validation().isEmpty()) {
            chart.addSeries(
                    "validation",
                    state.validation().stream()
                            .mapToDouble(Trainer.ValidationRecord::step)
                            .toArray(),
                    state.validation().stream()
                            .mapToDouble(Trainer.ValidationRecord::loss)
                            .toArray());
        }
        try {
            return BitmapEncoder.getBitmapBytes(chart, BitmapEncoder.BitmapFormat.PNG);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot render the loss curve", e);
        }
    }

    private static void deleteCheckpoint(Path checkpoint) {
        if (!Files.exists(checkpoint)) {
            return;
        }
        try (var files = Files.walk(checkpoint)) {
            for (Path p : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete the finished run's checkpoint " + checkpoint, e);
        }
    }
}
