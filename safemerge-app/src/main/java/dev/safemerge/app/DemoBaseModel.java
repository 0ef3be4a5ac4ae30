package dev.safemerge.app;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.safemerge.eval.Json;
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
import dev.safemerge.model.train.TrainingOptions;
import dev.safemerge.model.train.TrainingSummary;
import dev.safemerge.tensor.AtomicDirectory;
import dev.safemerge.tensor.DType;
import dev.safemerge.tensor.ModelDirectory;
import dev.safemerge.tensor.ModelWriter;
import dev.safemerge.tensor.Progress;
import dev.safemerge.tensor.TensorSpec;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The demo's aligned base model: a tiny Llama ({@link DemoTokenizer} with a chat template) trained
 * from random weights with full fine-tuning on {@link DemoData}'s base set. The trained checkpoint ships as a resource
 * ({@link #RESOURCE}); {@link #train} reproduces it from the seed.
 */
final class DemoBaseModel {
    static final String RESOURCE = "demo/base/";
    static final List<String> FILES = List.of(
            "config.json",
            "model.safetensors",
            "tokenizer.json",
            "tokenizer_config.json",
            "generation_config.json",
            "training.json");

    static final int HIDDEN = 96;
    static final int INTERMEDIATE = 288;
    static final int LAYERS = 3;
    static final int HEADS = 4;
    static final int KV_HEADS = 2;
    static final int MAX_POSITIONS = 256;
    /** Merges that occur fewer times than this in the base's training text are not learned. */
    static final int MIN_MERGE_COUNT = 2;

    /** How a demo model is trained from random weights; {@link #SHIPPED}: the shipped base's settings. */
    record Recipe(long seed, int epochs, int batchSize, double learningRate) {
        static final Recipe SHIPPED = new Recipe(1, 8, 16, 3e-3);
    }

    private DemoBaseModel() {}

    /** Copies the shipped checkpoint into {@code out} (atomically) and returns it. */
    static Path copyShipped(Path out) {
        try (AtomicDirectory dir = AtomicDirectory.begin(out)) {
            for (String file : FILES) {
                try (InputStream in = DemoBaseModel.class.getResourceAsStream(RESOURCE + file)) {
                    if (in == null) {
                        throw new IllegalStateException("the demo base model resource " + RESOURCE + file
                                + " is missing from the build; rebuild, or run demo --retrain-base");
                    }
                    Files.copy(in, dir.path().resolve(file));
                }
            }
            dir.commit();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    /**
     * Trains the base from random weights: writes the initial checkpoint into {@code scratch}/base-init, trains every weight on
     * {@code trainFile} and writes the result to {@code out}. Returns the mean loss of the last epoch's steps.
     */
    static double train(
            Path trainFile, List<String> texts, Path scratch, Path out, Recipe recipe, Progress.Factory progress) {
        int members = Integer.getInteger("demo.members", 1);
        if (members > 1) {
            return trainPacked(trainFile, texts, scratch, out, recipe, members, progress);
        }
        Path init = writeInitial(scratch.resolve("base-init"), recipe.seed(), texts);
        ObjectNode card = trainFromScratch(
                init,
                trainFile,
                recipe,
                "safemerge demo base: a tiny aligned chat model trained on synthetic data",
                "./safemerge demo --retrain-base --base-seed " + recipe.seed(),
                "safemerge_demo_base_seed",
                out,
                progress);
        return card.get("final_epoch_mean_loss").asDouble();
    }

    /**
     * Experiment: K members trained from seeds S, S + 1000, ... on the same data, joined side by side into one Llama K
     * times as wide (block-diagonal weights, the members' heads in turn, lm_head averaging their logits), then trained
     * together for demo.packEpochs epochs at demo.packLr.
     */
    static double trainPacked(
            Path trainFile,
            List<String> texts,
            Path scratch,
            Path out,
            Recipe recipe,
            int k,
            Progress.Factory progress) {
        List<Path> memberDirs = new ArrayList<>();
        boolean memberData = Boolean.getBoolean("demo.memberData");
        List<Path> trainFiles = new ArrayList<>();
        List<String> allTexts = new ArrayList<>(memberData ? List.of() : texts);
        for (int m = 0; m < k; m++) {
            if (memberData) {
                List<DemoData.Chat> chats = DemoData.baseTrain(recipe.seed() + m);
                Path file = scratch.resolve("data/member-train-" + m + ".jsonl");
                DemoData.writeChats(file, chats);
                trainFiles.add(file);
                allTexts.addAll(DemoData.texts(chats));
            } else {
                trainFiles.add(trainFile);
            }
        }
        for (int m = 0; m < k; m++) {
            long seed = recipe.seed() + (memberData ? m : 1000L * m);
            Path init = writeInitial(scratch.resolve("member-init-" + m), seed, allTexts);
            Path member = scratch.resolve("member-" + m);
            ObjectNode card = trainFromScratch(
                    init,
                    trainFiles.get(m),
                    new Recipe(seed, recipe.epochs(), recipe.batchSize(), recipe.learningRate()),
                    "member",
                    "member",
                    "safemerge_demo_base_seed",
                    member,
                    progress);
            System.err.printf(
                    "member %d (seed %d): last-epoch loss %.4f%n",
                    m, seed, card.get("final_epoch_mean_loss").asDouble());
            memberDirs.add(member);
        }
        Path packed = pack(memberDirs, scratch.resolve("base-packed"));
        int packEpochs = Integer.getInteger("demo.packEpochs", 0);
        double packLr = Double.parseDouble(System.getProperty("demo.packLr", "3e-4"));
        if (packEpochs == 0) {
            copyDir(packed, out);
            return Double.NaN;
        }
        ObjectNode card = trainFromScratch(
                packed,
                trainFile,
                new Recipe(recipe.seed(), packEpochs, recipe.batchSize(), packLr),
                "safemerge demo base: packed members",
                "./safemerge demo --retrain-base --base-seed " + recipe.seed(),
                "safemerge_demo_base_seed",
                out,
                progress);
        return card.get("final_epoch_mean_loss").asDouble();
    }

    private static void copyDir(Path from, Path to) {
        try (AtomicDirectory dir = AtomicDirectory.begin(to);
                var files = Files.list(from)) {
            for (Path f : files.toList()) {
                Files.copy(f, dir.path().resolve(f.getFileName()));
            }
            dir.commit();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Joins K trained members of the demo shape into one model K times as wide that computes their mean logits, but for the shared RMS norms. */
    static Path pack(List<Path> members, Path dir) {
        int k = members.size();
        List<ModelDirectory> models = members.stream().map(ModelDirectory::open).toList();
        try {
            ModelDirectory first = models.get(0);
            int vocab = (int) first.info("model.embed_tokens.weight").shape()[0];
            Map<String, long[]> shapes = new LinkedHashMap<>();
            for (String name : first.tensorNames()) {
                long[] shape = first.info(name).shape().clone();
                if (shape.length == 1) {
                    shape[0] *= k;
                } else if (name.equals("model.embed_tokens.weight") || name.equals("lm_head.weight")) {
                    shape[1] *= k;
                } else {
                    shape[0] *= k;
                    shape[1] *= k;
                }
                shapes.put(name, shape);
            }
            List<TensorSpec> specs = new ArrayList<>();
            shapes.forEach((name, shape) -> specs.add(new TensorSpec(name, DType.F32, shape)));
            try (ModelWriter writer = ModelWriter.create(dir, specs, Long.MAX_VALUE, Map.of())) {
                for (String name : first.tensorNames()) {
                    long[] small = first.info(name).shape();
                    long[] big = shapes.get(name);
                    int rows = (int) small[0];
                    int cols = small.length == 1 ? 1 : (int) small[1];
                    float[] out = new float[Math.toIntExact(big.length == 1 ? big[0] : big[0] * big[1])];
                    boolean sideBySide = name.equals("model.embed_tokens.weight") || name.equals("lm_head.weight");
                    float scale = name.equals("lm_head.weight") ? 1f / k : 1f;
                    for (int m = 0; m < k; m++) {
                        float[] w = new float[rows * cols];
                        models.get(m).readFloats(name, 0, w, 0, w.length);
                        if (small.length == 1) {
                            System.arraycopy(w, 0, out, m * rows, rows);
                        } else if (sideBySide) {
                            for (int r = 0; r < rows; r++) {
                                for (int c = 0; c < cols; c++) {
                                    out[r * cols * k + m * cols + c] = scale * w[r * cols + c];
                                }
                            }
                        } else {
                            for (int r = 0; r < rows; r++) {
                                for (int c = 0; c < cols; c++) {
                                    out[(m * rows + r) * cols * k + m * cols + c] = w[r * cols + c];
                                }
                            }
                        }
                    }
                    writer.writeFloats(name, out);
                }
                ObjectNode config = config(vocab);
                config.put("hidden_size", HIDDEN * k);
                config.put("intermediate_size", INTERMEDIATE * k);
                config.put("num_attention_heads", HEADS * k);
                config.put("num_key_value_heads", KV_HEADS * k);
                config.put("head_dim", HIDDEN / HEADS);
                writer.writeFile("config.json", utf8(Json.pretty(config)));
                for (String file : List.of("tokenizer.json", "tokenizer_config.json", "generation_config.json")) {
                    writer.copyFile(members.get(0).resolve(file), file);
                }
                writer.commit();
            }
        } finally {
            models.forEach(ModelDirectory::close);
        }
        return dir;
    }

    /**
     * The one training routine of the demo's models: every weight of the random checkpoint {@code init} trained on
     * {@code trainFile} with {@code recipe} (cosine schedule, 20 warm-up steps, gradient norm clipped at 1, AdamW without
     * weight decay), written to {@code out} with a training.json (finetune's summary schema plus {@code what}, {@code
     * reproduce}, the seed, the last epoch's mean loss and the seconds it took). Returns that card.
     */
    static ObjectNode trainFromScratch(
            Path init,
            Path trainFile,
            Recipe recipe,
            String what,
            String reproduce,
            String seedMetadataKey,
            Path out,
            Progress.Factory progress) {
        long started = System.nanoTime();
        try (ModelDirectory initial = ModelDirectory.open(init);
                HfTokenizer tokenizer = HfTokenizer.load(init)) {
            SftData.Loaded data = SftData.load(
                    trainFile,
                    new HfTrainingTokenizer(tokenizer),
                    MAX_POSITIONS,
                    SftData.Overlong.DROP,
                    0,
                    recipe.seed());
            TrainableModel model = TrainableModel.full(ModelSpec.read(init), new CheckpointWeights(initial));
            TrainingOptions options = new TrainingOptions(
                    recipe.epochs(),
                    0,
                    recipe.batchSize(),
                    1,
                    recipe.learningRate(),
                    LrSchedule.COSINE,
                    20,
                    1.0,
                    AdamW.Settings.DEFAULTS,
                    recipe.seed(),
                    0);
            // Experiment switch (not the recorded recipe): a pre-training phase on base-pretrain.jsonl first.
            int pretrainEpochs = Integer.getInteger("demo.pretrainEpochs", 0);
            Path pretrainFile = trainFile.resolveSibling("base-pretrain.jsonl");
            if (pretrainEpochs > 0 && Files.exists(pretrainFile)) {
                SftData.Loaded pre = SftData.load(
                        pretrainFile,
                        new HfTrainingTokenizer(tokenizer),
                        MAX_POSITIONS,
                        SftData.Overlong.DROP,
                        0,
                        recipe.seed());
                TrainingOptions preOptions = new TrainingOptions(
                        pretrainEpochs,
                        0,
                        recipe.batchSize(),
                        1,
                        recipe.learningRate(),
                        LrSchedule.COSINE,
                        20,
                        1.0,
                        AdamW.Settings.DEFAULTS,
                        recipe.seed(),
                        0);
                Trainer preTrainer = new Trainer(model, preOptions, pre.train(), List.of());
                Trainer.Result preResult = preTrainer.run(null, (state, optimizer) -> {}, progress);
                System.err.printf(
                        "pretraining: %d steps, last-epoch loss %.4f, %.0f s%n",
                        preResult.state().steps().size(),
                        finalEpochMeanLoss(preTrainer, preResult),
                        (System.nanoTime() - started) / 1e9);
            }
            Trainer trainer = new Trainer(model, options, data.train(), List.of());
            Trainer.Result result = trainer.run(null, (state, optimizer) -> {}, progress);
            ObjectNode card = trainingSummary(
                    "random initialisation, seed " + recipe.seed(),
                    trainFile,
                    null,
                    options,
                    model,
                    trainer,
                    data,
                    result);
            card.put("what", what);
            card.put("reproduce", reproduce);
            card.put("seed", recipe.seed());
            card.put("final_epoch_mean_loss", finalEpochMeanLoss(trainer, result));
            card.put("training_seconds", Math.round((System.nanoTime() - started) / 1e9));
            FineTuneExport.writeModel(
                    out,
                    model,
                    initial,
                    Map.of(seedMetadataKey, Long.toString(recipe.seed())),
                    Map.of("training.json", Json.pretty(card).getBytes(StandardCharsets.UTF_8)));
            return card;
        }
    }

    /** The mean training loss over the last epoch's steps (all steps when the run was shorter than an epoch). */
    static double finalEpochMeanLoss(Trainer trainer, Trainer.Result result) {
        List<Trainer.StepRecord> steps = result.state().steps();
        int last = (int) Math.min(steps.size(), trainer.stepsPerEpoch());
        return steps.subList(steps.size() - last, steps.size()).stream()
                .mapToDouble(Trainer.StepRecord::loss)
                .average()
                .orElse(Double.NaN);
    }

    /** A demo training.json: the schema of finetune's training_summary.json, for the demo's fixed settings. */
    static ObjectNode trainingSummary(
            String model,
            Path trainFile,
            LoraSettings lora,
            TrainingOptions options,
            TrainableModel trainable,
            Trainer trainer,
            SftData.Loaded data,
            Trainer.Result result) {
        return new TrainingSummary(
                        model,
                        trainFile.getFileName().toString(),
                        ModelWriter.sha256(trainFile),
                        lora,
                        options,
                        MAX_POSITIONS,
                        SftData.Overlong.DROP,
                        0)
                .toJson(
                        trainable.parameters().stream()
                                .mapToLong(Parameter::size)
                                .sum(),
                        trainer,
                        data,
                        result);
    }

    /** A randomly initialised checkpoint (normal 0.02 as transformers initialises Llama) with the demo tokenizer. */
    static Path writeInitial(Path dir, long seed, List<String> texts) {
        List<DemoTokenizer.Merge> merges = DemoTokenizer.learn(texts, MIN_MERGE_COUNT);
        int vocab = DemoTokenizer.vocabSize(merges);
        int headDim = HIDDEN / HEADS;
        int kv = KV_HEADS * headDim;
        Map<String, long[]> shapes = new LinkedHashMap<>();
        shapes.put("model.embed_tokens.weight", new long[] {vocab, HIDDEN});
        for (int l = 0; l < LAYERS; l++) {
            String p = "model.layers." + l + ".";
            shapes.put(p + "input_layernorm.weight", new long[] {HIDDEN});
            shapes.put(p + "self_attn.q_proj.weight", new long[] {HIDDEN, HIDDEN});
            shapes.put(p + "self_attn.k_proj.weight", new long[] {kv, HIDDEN});
            shapes.put(p + "self_attn.v_proj.weight", new long[] {kv, HIDDEN});
            shapes.put(p + "self_attn.o_proj.weight", new long[] {HIDDEN, HIDDEN});
            shapes.put(p + "post_attention_layernorm.weight", new long[] {HIDDEN});
            shapes.put(p + "mlp.gate_proj.weight", new long[] {INTERMEDIATE, HIDDEN});
            shapes.put(p + "mlp.up_proj.weight", new long[] {INTERMEDIATE, HIDDEN});
            shapes.put(p + "mlp.down_proj.weight", new long[] {HIDDEN, INTERMEDIATE});
        }
        shapes.put("model.norm.weight", new long[] {HIDDEN});
        shapes.put("lm_head.weight", new long[] {vocab, HIDDEN});
        List<TensorSpec> specs = new ArrayList<>();
        shapes.forEach((name, shape) -> specs.add(new TensorSpec(name, DType.F32, shape)));
        SplittableRandom random = new SplittableRandom(seed);
        try (ModelWriter writer = ModelWriter.create(dir, specs, Long.MAX_VALUE, Map.of())) {
            shapes.forEach((name, shape) -> {
                float[] values = new float[(int) (shape.length == 1 ? shape[0] : shape[0] * shape[1])];
                for (int i = 0; i < values.length; i++) {
                    values[i] = name.endsWith("norm.weight") ? 1f : (float) (0.02 * random.nextGaussian());
                }
                writer.writeFloats(name, values);
            });
            writer.writeFile("config.json", utf8(Json.pretty(config(vocab))));
            writer.writeFile("tokenizer.json", utf8(Json.pretty(DemoTokenizer.json(merges))));
            writer.writeFile("tokenizer_config.json", utf8(Json.pretty(tokenizerConfig())));
            ObjectNode generation = Json.object();
            generation.put("bos_token_id", DemoTokenizer.BOS);
            generation.putArray("eos_token_id").add(DemoTokenizer.EOS);
            writer.writeFile("generation_config.json", utf8(Json.pretty(generation)));
            writer.commit();
        }
        return dir;
    }

    private static byte[] utf8(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    static ObjectNode config(int vocab) {
        ObjectNode config = Json.object();
        config.putArray("architectures").add("LlamaForCausalLM");
        config.put("model_type", "llama");
        config.put("vocab_size", vocab);
        config.put("hidden_size", HIDDEN);
        config.put("intermediate_size", INTERMEDIATE);
        config.put("num_hidden_layers", LAYERS);
        config.put("num_attention_heads", HEADS);
        config.put("num_key_value_heads", KV_HEADS);
        config.put("head_dim", HIDDEN / HEADS);
        config.put("hidden_act", "silu");
        config.put("max_position_embeddings", MAX_POSITIONS);
        config.put("rms_norm_eps", 1e-5);
        config.put("rope_theta", 10000.0);
        config.put("tie_word_embeddings", false);
        config.put("torch_dtype", "float32");
        config.put("bos_token_id", DemoTokenizer.BOS);
        config.put("eos_token_id", DemoTokenizer.EOS);
        return config;
    }

    static ObjectNode tokenizerConfig() {
        ObjectNode config = Json.object();
        config.put("bos_token", DemoTokenizer.SPECIAL_TOKENS[0]);
        config.put("eos_token", DemoTokenizer.SPECIAL_TOKENS[1]);
        config.put("add_bos_token", false);
        config.put("clean_up_tokenization_spaces", false);
        config.put("model_max_length", MAX_POSITIONS);
        config.put("tokenizer_class", "PreTrainedTokenizerFast");
        config.put(
                "chat_template",
                "{{ bos_token }}{% for message in messages %}{{ '<|' + message['role'] + '|>' + message['content'] | trim"
                        + " + '<|end|>' }}{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>' }}{% endif %}");
        return config;
    }
}
