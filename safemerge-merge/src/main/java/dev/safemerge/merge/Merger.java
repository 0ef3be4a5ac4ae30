package dev.safemerge.merge;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.safemerge.merge.config.ConfigParser;
import dev.safemerge.merge.config.MergeConfig;
import dev.safemerge.merge.config.ModelRef;
import dev.safemerge.tensor.BadInputException;
import dev.safemerge.tensor.ByteSizes;
import dev.safemerge.tensor.JsonMappers;
import dev.safemerge.tensor.LoraAdapter;
import dev.safemerge.tensor.ModelDirectory;
import dev.safemerge.tensor.ModelWriter;
import dev.safemerge.tensor.Progress;
import dev.safemerge.tensor.TensorSource;
import dev.safemerge.tensor.TensorSpec;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A whole merge from a mergekit YAML config to a Hugging Face model directory: parse and validate the config, open
 * the inputs, plan every tensor (all checks happen here, before any tensor is read), then stream the merge into an
 * atomically committed output with config.json, tokenizer files, the config as mergekit_config.yml and a model card.
 */
public final class Merger {
    /** mergekit's default {@code --out-shard-size}: "5B", five billion bytes. */
    public static final long DEFAULT_SHARD_BYTES = 5_000_000_000L;

    private static final Pattern KMB = Pattern.compile("\\s*([0-9]+(?:\\.[0-9]+)?)\\s*([KkMmBb])\\s*");

    /**
     * How a merge runs. Built from {@link #into(Path)} (mergekit's defaults) and named settings, so no two settings of
     * one type can be swapped by position.
     *
     * @param out the output directory (must not exist or be empty unless {@code overwrite})
     * @param seed seeds the random masks of DARE and DELLA (counter-based, so independent of {@code threads})
     * @param maxShardBytes the largest safetensors shard written (mergekit's {@code --out-shard-size})
     * @param threads worker threads for tensors and chunks
     * @param dryRun plan and print the plan to {@code log}; read and write no tensor
     * @param allowCrimes merge inputs whose architectures differ (mergekit's {@code --allow-crimes})
     * @param emitAdapter write a linear merge of a base and its LoRA adapters as one adapter instead of full weights
     * @param overwrite replace an existing {@code out} in one rename once the new one is complete, so a failed or
     *     interrupted merge leaves the old output as it was
     * @param progress reports bytes merged
     * @param log receives warnings and the dry run's plan
     * @param configCheck run on every input model's config.json before any model is opened
     */
    public record Options(
            Path out,
            long seed,
            long maxShardBytes,
            int threads,
            boolean dryRun,
            boolean allowCrimes,
            boolean emitAdapter,
            boolean overwrite,
            Progress.Factory progress,
            PrintWriter log,
            ConfigCheck configCheck) {
        /**
         * A merge into {@code out}, starting from mergekit's defaults: seed 0, 5B shards, one thread, no dry run, no
         * crimes, full weights, an existing output refused, no progress, no log, inputs checked only through the
         * checkpoint view.
         */
        public static Builder into(Path out) {
            return new Builder(out);
        }

        /** Named settings over the defaults of {@link #into(Path)}. */
        public static final class Builder {
            private final Path out;
            private long seed;
            private long maxShardBytes = DEFAULT_SHARD_BYTES;
            private int threads = 1;
            private boolean dryRun;
            private boolean allowCrimes;
            private boolean emitAdapter;
            private boolean overwrite;
            private Progress.Factory progress = Progress.SILENT;
            private PrintWriter log = new PrintWriter(Writer.nullWriter());
            private ConfigCheck configCheck = ConfigCheck.CHECKPOINT_VIEW;

            private Builder(Path out) {
                this.out = out;
            }

            public Builder seed(long value) {
                seed = value;
                return this;
            }

            public Builder maxShardBytes(long value) {
                maxShardBytes = value;
                return this;
            }

            public Builder threads(int value) {
                threads = value;
                return this;
            }

            public Builder dryRun(boolean value) {
                dryRun = value;
                return this;
            }

            public Builder allowCrimes(boolean value) {
                allowCrimes = value;
                return this;
            }

            public Builder emitAdapter(boolean value) {
                emitAdapter = value;
                return this;
            }

            public Builder overwrite(boolean value) {
                overwrite = value;
                return this;
            }

            public Builder progress(Progress.Factory value) {
                progress = value;
                return this;
            }

            public Builder log(PrintWriter value) {
                log = value;
                return this;
            }

            public Builder configCheck(ConfigCheck value) {
                configCheck = value;
                return this;
            }

            public Options build() {
                return new Options(
                        out,
                        seed,
                        maxShardBytes,
                        threads,
                        dryRun,
                        allowCrimes,
                        emitAdapter,
                        overwrite,
                        progress,
                        log,
                        configCheck);
            }
        }
    }

    /**
     * A validation of an input model's config.json, run on every input before any model is opened. The merge reads
     * only the checkpoint view of a config ({@code CheckpointConfig}: model type, architecture, layers, vocabulary);
     * a caller that knows the full model config (the command line, through the model module) passes its reader, so
     * a config no model could be loaded from is refused before any work.
     */
    @FunctionalInterface
    public interface ConfigCheck {
        /** No check beyond the checkpoint view each opened model reads. */
        ConfigCheck CHECKPOINT_VIEW = configJson -> {};

        /** Throws a one-line {@link BadInputException} naming the file and the key when the config is refused. */
        void check(Path configJson);
    }

    /** What a merge did (or, for a dry run, would do). */
    public record Summary(int tensors, int outputLayers, long bytesRead, long bytesWritten) {}

    private Merger() {}

    /**
     * Parses a shard size as mergekit does ({@code 5B} = 5·10^9 bytes, {@code 500M}, {@code 100K}: powers of 1000) or
     * with a byte unit ({@code 5GB}, {@code 2GiB}).
     */
    public static long parseShardSize(String text) {
        Matcher matcher = KMB.matcher(text);
        if (matcher.matches()) {
            double value = Double.parseDouble(matcher.group(1));
            long multiplier = switch (matcher.group(2).toUpperCase(Locale.ROOT)) {
                case "K" -> 1_000L;
                case "M" -> 1_000_000L;
                default -> 1_000_000_000L;
            };
            long bytes = (long) (value * multiplier);
            if (bytes < 1) {
                throw new BadInputException("shard size '" + text + "' is less than one byte");
            }
            return bytes;
        }
        return ByteSizes.parse(text);
    }

    public static Summary run(Path configFile, Options options) {
        Consumer<String> warnings = message -> options.log().println("warning: " + message);
        MergeConfig config = ConfigParser.parse(configFile, warnings);
        for (ModelRef ref : config.referencedModels()) {
            options.configCheck().check(ref.path().resolve(ModelDirectory.CONFIG));
        }
        Map<ModelRef, ModelDirectory> directories = new LinkedHashMap<>();
        Map<ModelRef, TensorSource> sources = new LinkedHashMap<>();
        Map<ModelRef, LoraAdapter> adapters = new LinkedHashMap<>();
        try {
            for (ModelRef ref : config.referencedModels()) {
                ModelDirectory directory = ModelDirectory.open(ref.path());
                directories.put(ref, directory);
                if (ref.hasAdapter()) {
                    // base+adapter as mergekit writes LoRA references: the adapter applied to the base on read.
                    LoraAdapter adapter = LoraAdapter.open(ref.adapter());
                    adapters.put(ref, adapter);
                    sources.put(ref, adapter.applied(directory));
                } else {
                    sources.put(ref, directory);
                }
            }
            checkArchitectures(configFile, directories, options.allowCrimes());
            int outputVocabulary = -1;
            if ("base".equals(config.tokenizerSource())) {
                outputVocabulary = useBaseVocabulary(configFile, config, directories, sources);
            }
            MergePlanner.Plan plan = MergePlanner.plan(config, sources::get, warnings);
            LoraFastPath.Match fast = LoraFastPath.find(config, adapters, sources);
            if (options.emitAdapter() && fast == null) {
                throw new BadInputException(configFile + ": --emit-adapter needs a linear or task_arithmetic merge of"
                        + " a base model with the same base plus a LoRA adapter (BASE and BASE+ADAPTER)");
            }
            Summary summary = summary(plan);
            if (options.dryRun()) {
                if (fast != null) {
                    options.log()
                            .println("LoRA fast path: base + c·scale·B·A from " + fast.tuned()
                                    + (options.emitAdapter() ? ", written as an adapter" : ""));
                }
                printPlan(config, plan, summary, options.log());
                return summary;
            }
            if (fast != null) {
                List<TensorTask> tasks = LoraFastPath.tasks(plan.tasks(), fast, config);
                if (options.emitAdapter()) {
                    LoraFastPath.writeAdapter(options.out(), fast, tasks, options.overwrite());
                    return summary;
                }
                plan = new MergePlanner.Plan(tasks, plan.outputLayers(), plan.layerReport());
            }
            write(
                    config,
                    plan,
                    fast != null ? new LoraFastPath.Combination() : config.method(),
                    directories,
                    outputVocabulary,
                    options);
            return summary;
        } finally {
            for (ModelDirectory directory : directories.values()) {
                directory.close();
            }
            for (LoraAdapter adapter : adapters.values()) {
                adapter.close();
            }
        }
    }

    /** Presents every model's embeddings in the base tokenizer's vocabulary; returns its size. */
    private static int useBaseVocabulary(
            Path file,
            MergeConfig config,
            Map<ModelRef, ModelDirectory> directories,
            Map<ModelRef, TensorSource> sources) {
        if (config.baseModel() == null) {
            throw new BadInputException(file + ": tokenizer_source: base needs a base_model");
        }
        Map<String, Integer> baseTokens =
                BaseVocabulary.tokens(config.baseModel().path());
        TensorSource base = sources.get(config.baseModel());
        for (ModelRef ref : new ArrayList<>(sources.keySet())) {
            TensorSource source = sources.get(ref);
            long rows = Long.MAX_VALUE;
            for (String name : source.tensorNames()) {
                if (TensorNames.isEmbedding(name) && source.info(name).rank() == 2) {
                    rows = Math.min(rows, source.info(name).dim(0));
                }
            }
            int[] map = BaseVocabulary.rowMap(baseTokens, BaseVocabulary.tokens(ref.path()), rows);
            sources.put(ref, new BaseVocabulary.Remapped(source, base, map));
        }
        return baseTokens.size();
    }

    private static void checkArchitectures(Path file, Map<ModelRef, ModelDirectory> models, boolean allowCrimes) {
        Map<String, String> byModel = new LinkedHashMap<>();
        for (Map.Entry<ModelRef, ModelDirectory> entry : models.entrySet()) {
            String architecture = entry.getValue().config().architecture();
            byModel.put(entry.getKey().toString(), architecture == null ? "(none)" : architecture);
        }
        if (new TreeSet<>(byModel.values()).size() > 1 && !allowCrimes) {
            throw new BadInputException(file + ": models have different architectures " + byModel
                    + "; pass --allow-crimes to merge them anyway");
        }
    }

    private static Summary summary(MergePlanner.Plan plan) {
        long read = 0;
        long written = 0;
        for (TensorTask task : plan.tasks()) {
            read += task.bytesRead();
            written += task.spec().byteSize();
        }
        return new Summary(plan.tasks().size(), plan.outputLayers(), read, written);
    }

    private static void printPlan(MergeConfig config, MergePlanner.Plan plan, Summary summary, PrintWriter out) {
        out.printf(
                "method %s: %d tensors, %d layers, read %s, write %s%n",
                config.method().name(),
                summary.tensors(),
                summary.outputLayers(),
                ByteSizes.format(summary.bytesRead()),
                ByteSizes.format(summary.bytesWritten()));
        for (String line : plan.layerReport()) {
            out.println(line);
        }
        // Each tensor shows the parameters its method resolved for it (t for slerp, a weight per model for
        // linear), not the layer's position that gradients are read at, which would read as a slerp t.
        for (TensorTask task : plan.tasks()) {
            List<String> inputs = new ArrayList<>();
            for (TensorTask.Input input : task.inputs()) {
                inputs.add(input.model() + ":" + input.sourceName() + parameters(input.params()));
            }
            out.printf(
                    Locale.ROOT,
                    "%s %s %s->%s%s <- %s%n",
                    task.name(),
                    java.util.Arrays.toString(task.shape()),
                    task.precision().dtype().torchName(),
                    task.outDtype().torchName(),
                    parameters(task.global()),
                    String.join(", ", inputs));
        }
        out.flush();
    }

    /** " t=0.5" or " weight=0.25 density=0.5"; empty without parameters. */
    private static String parameters(Params params) {
        StringBuilder s = new StringBuilder();
        params.values()
                .forEach((name, value) -> s.append(' ').append(name).append('=').append(value));
        return s.toString();
    }

    private static void write(
            MergeConfig config,
            MergePlanner.Plan plan,
            MergeMethod method,
            Map<ModelRef, ModelDirectory> directories,
            int outputVocabulary,
            Options options) {
        List<TensorSpec> specs = new ArrayList<>();
        for (TensorTask task : plan.tasks()) {
            specs.add(task.spec());
        }
        ModelRef donorRef = config.baseModel() != null
                ? config.baseModel()
                : config.referencedModels().getFirst();
        ModelDirectory donor = directories.get(donorRef);
        try (ModelWriter writer =
                ModelWriter.create(options.out(), specs, options.maxShardBytes(), Map.of(), options.overwrite())) {
            MergeExecutor.execute(
                    plan.tasks(),
                    method,
                    writer,
                    MergeExecutor.Options.defaults(options.threads(), options.seed(), options.progress()));
            writer.writeFile("config.json", outputConfig(config, plan, donor, outputVocabulary));
            copyTokenizer(donor, writer);
            writer.writeFile("mergekit_config.yml", config.yamlText().getBytes(StandardCharsets.UTF_8));
            writer.writeFile("README.md", ModelCard.text(config, plan).getBytes(StandardCharsets.UTF_8));
            writer.commit();
        }
    }

    private static byte[] outputConfig(
            MergeConfig config, MergePlanner.Plan plan, ModelDirectory donor, int outputVocabulary) {
        ObjectNode json = donor.config().raw().deepCopy();
        if (outputVocabulary > 0) {
            json.put("vocab_size", outputVocabulary);
        }
        String dtype = config.outDtype() != null
                ? config.outDtype().torchName()
                : config.dtype() != null ? config.dtype().torchName() : null;
        if (dtype != null) {
            json.put("torch_dtype", dtype);
            if (json.has("dtype")) {
                json.put("dtype", dtype);
            }
        }
        if (!config.slices().isEmpty()) {
            json.put("num_hidden_layers", plan.outputLayers());
        }
        try {
            return JsonMappers.pretty().writeValueAsBytes(json);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** mergekit copies the donor's tokenizer files when it has a tokenizer config and a vocabulary file. */
    private static void copyTokenizer(ModelDirectory donor, ModelWriter writer) {
        Path dir = donor.path();
        boolean complete = Files.isRegularFile(dir.resolve("tokenizer_config.json"))
                && (Files.isRegularFile(dir.resolve("tokenizer.json"))
                        || Files.isRegularFile(dir.resolve("tokenizer.model")));
        for (Path file : donor.auxiliaryFiles()) {
            String name = file.getFileName().toString();
            if (complete || name.equals("generation_config.json")) {
                writer.copyFile(file, name);
            }
        }
    }
}
