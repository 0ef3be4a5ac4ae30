package dev.safemerge.app;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
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
 * The demo's aligned base model: tiny Llamas of one shape ({@link DemoTokenizer} with a chat template), each trained
 * from its own random weights with full fine-tuning on {@link DemoData}'s base set, joined side by side into one wider
 * Llama that computes nearly the mean of their logits. Several members separate harmful requests from their harmless
 * look-alikes better than any one of them, because much of what one small model gets wrong depends on its seed. The
 * trained checkpoint ships as a resource ({@link #RESOURCE}); {@link #train} reproduces it from the seed.
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

    /** How a demo model of this shape is trained from random weights. */
    record Recipe(long seed, int epochs, int batchSize, double learningRate) {}

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
     * How the base is made: {@code members} models of the demo shape, member m initialised and trained from seed
     * {@code seed + 1000·m} on the same data (a phase of {@code corpusEpochs} on the generated prose, then {@code
     * chatEpochs} on the chats and hand-written sentences), joined side by side into one model ({@link #join}) and
     * stored in BF16. {@code maxStepsPerPhase} (0: no limit) cuts each phase short for a pipeline check.
     */
    record BaseRecipe(
            long seed,
            int members,
            int corpusEpochs,
            int chatEpochs,
            long maxStepsPerPhase,
            int batchSize,
            double learningRate) {
        static final long SHIPPED_SEED = 2;
        static final BaseRecipe SHIPPED = new BaseRecipe(SHIPPED_SEED, 4, 4, 8, 0, 16, 3e-3);

        long memberSeed(int m) {
            return seed + 1000L * m;
        }
    }

    /**
     * Trains the base from random weights as {@code recipe} says: member m's initial checkpoint goes to {@code
     * scratch}/member-init-m and the trained member, with its training.json, to {@code scratch}/member-m; the joined
     * model goes to {@code out} with a training.json holding every member's card. {@code corpusFile} is the generated
     * prose, {@code chatFile} the chats; the tokenizer is learned from {@code texts}. Returns the joined card.
     */
    static ObjectNode train(
            Path corpusFile,
            Path chatFile,
            List<String> texts,
            Path scratch,
            Path out,
            BaseRecipe recipe,
            Progress.Factory progress) {
        long started = System.nanoTime();
        String reproduce = "./safemerge demo --retrain-base --base-seed " + recipe.seed();
        List<Path> members = new ArrayList<>();
        ArrayNode cards = JsonNodeFactory.instance.arrayNode();
        double lossSum = 0;
        for (int m = 0; m < recipe.members(); m++) {
            long seed = recipe.memberSeed(m);
            Path init = writeInitial(scratch.resolve("member-init-" + m), seed, texts);
            Path member = scratch.resolve("member-" + m);
            ObjectNode card = trainFromScratch(
                    init,
                    new Phase(corpusFile, recipe.corpusEpochs()),
                    chatFile,
                    new Recipe(seed, recipe.chatEpochs(), recipe.batchSize(), recipe.learningRate()),
                    recipe.maxStepsPerPhase(),
                    "member " + m + " of the safemerge demo base",
                    reproduce,
                    "safemerge_demo_base_seed",
                    member,
                    progress);
            cards.add(card);
            lossSum += card.get("final_epoch_mean_loss").asDouble();
            members.add(member);
        }
        ObjectNode card = Json.object();
        card.put(
                "what",
                "safemerge demo base: " + recipe.members()
                        + " tiny aligned chat models trained on synthetic data, joined side by side into one");
        card.put("reproduce", reproduce);
        card.put("seed", recipe.seed());
        card.put("members", recipe.members());
        card.put("final_epoch_mean_loss", lossSum / recipe.members());
        card.put("training_seconds", Math.round((System.nanoTime() - started) / 1e9));
        card.set("member_training", cards);
        join(members, out, Map.of("training.json", Json.pretty(card).getBytes(StandardCharsets.UTF_8)));
        return card;
    }

    /** A training phase before the main one: its data and epochs, with the main phase's other settings. */
    record Phase(Path data, int epochs) {}

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
        return trainFromScratch(init, null, trainFile, recipe, 0, what, reproduce, seedMetadataKey, out, progress);
    }

    /**
     * {@link #trainFromScratch(Path, Path, Recipe, String, String, String, Path, Progress.Factory)} with a phase on
     * {@code pretraining}'s data first (null: none), its loss curve recorded in the card's {@code pretraining}, and every
     * phase cut at {@code maxSteps} steps (0: no limit).
     */
    static ObjectNode trainFromScratch(
            Path init,
            Phase pretraining,
            Path trainFile,
            Recipe recipe,
            long maxSteps,
            String what,
            String reproduce,
            String seedMetadataKey,
            Path out,
            Progress.Factory progress) {
        long started = System.nanoTime();
        try (ModelDirectory initial = ModelDirectory.open(init);
                HfTokenizer tokenizer = HfTokenizer.load(init)) {
            SftData.Loaded data = load(trainFile, tokenizer, recipe.seed());
            TrainableModel model = TrainableModel.full(ModelSpec.read(init), new CheckpointWeights(initial));
            ObjectNode before = null;
            if (pretraining != null) {
                SftData.Loaded corpus = load(pretraining.data(), tokenizer, recipe.seed());
                TrainingOptions options = options(pretraining.epochs(), maxSteps, recipe);
                Trainer trainer = new Trainer(model, options, corpus.train(), List.of());
                Trainer.Result result = trainer.run(null, (state, optimizer) -> {}, progress);
                before = trainingSummary(
                        "random initialisation, seed " + recipe.seed(),
                        pretraining.data(),
                        null,
                        options,
                        model,
                        trainer,
                        corpus,
                        result);
                before.put("final_epoch_mean_loss", finalEpochMeanLoss(trainer, result));
            }
            TrainingOptions options = options(recipe.epochs(), maxSteps, recipe);
            Trainer trainer = new Trainer(model, options, data.train(), List.of());
            Trainer.Result result = trainer.run(null, (state, optimizer) -> {}, progress);
            ObjectNode card = trainingSummary(
                    pretraining == null
                            ? "random initialisation, seed " + recipe.seed()
                            : "random initialisation, seed " + recipe.seed() + ", then "
                                    + pretraining.data().getFileName(),
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
            if (before != null) {
                card.set("pretraining", before);
            }
            FineTuneExport.writeModel(
                    out,
                    model,
                    initial,
                    Map.of(seedMetadataKey, Long.toString(recipe.seed())),
                    Map.of("training.json", Json.pretty(card).getBytes(StandardCharsets.UTF_8)));
            return card;
        }
    }

    private static SftData.Loaded load(Path file, HfTokenizer tokenizer, long seed) {
        return SftData.load(file, new HfTrainingTokenizer(tokenizer), MAX_POSITIONS, SftData.Overlong.DROP, 0, seed);
    }

    /** Cosine schedule, 20 warm-up steps, gradient norm clipped at 1, AdamW without weight decay. */
    private static TrainingOptions options(int epochs, long maxSteps, Recipe recipe) {
        return new TrainingOptions(
                epochs,
                maxSteps,
                recipe.batchSize(),
                1,
                recipe.learningRate(),
                LrSchedule.COSINE,
                20,
                1.0,
                AdamW.Settings.DEFAULTS,
                recipe.seed(),
                0);
    }

    /**
     * Joins trained models of the demo shape into one ordinary Llama as many times as wide that computes the mean of
     * their logits, but for the RMS norms, which the wide model takes over all members' channels together: embeddings,
     * norm weights and {@code lm_head} side by side ({@code lm_head} times 1/K, so the logits are the members' mean),
     * every projection block-diagonal, so member m owns heads {@code HEADS·m …} and KV heads {@code KV_HEADS·m …} and
     * reads and writes only its own channels. Written to {@code out} in BF16 with the members' tokenizer and {@code
     * extraFiles}.
     */
    static void join(List<Path> members, Path out, Map<String, byte[]> extraFiles) {
        int k = members.size();
        List<ModelDirectory> models = members.stream().map(ModelDirectory::open).toList();
        try {
            ModelDirectory first = models.getFirst();
            int vocab = (int) first.info("model.embed_tokens.weight").shape()[0];
            List<TensorSpec> specs = new ArrayList<>();
            for (String name : first.tensorNames()) {
                long[] shape = first.info(name).shape().clone();
                if (blockDiagonal(name, shape)) {
                    shape[0] *= k;
                }
                shape[shape.length - 1] *= k;
                specs.add(new TensorSpec(name, DType.BF16, shape));
            }
            try (ModelWriter writer = ModelWriter.create(out, specs, Long.MAX_VALUE, Map.of())) {
                for (String name : first.tensorNames()) {
                    long[] small = first.info(name).shape();
                    boolean blocks = blockDiagonal(name, small);
                    int rows = small.length == 1 ? 1 : (int) small[0];
                    int cols = (int) small[small.length - 1];
                    int wideCols = cols * k;
                    float[] joined = new float[Math.toIntExact((long) (blocks ? rows * k : rows) * wideCols)];
                    float scale = name.equals("lm_head.weight") ? 1f / k : 1f;
                    float[] w = new float[rows * cols];
                    for (int m = 0; m < k; m++) {
                        models.get(m).readFloats(name, 0, w, 0, w.length);
                        // Member m's block: its own columns, and its own rows when the tensor is block-diagonal.
                        int firstRow = blocks ? m * rows : 0;
                        for (int r = 0; r < rows; r++) {
                            for (int c = 0; c < cols; c++) {
                                joined[(firstRow + r) * wideCols + m * cols + c] = scale * w[r * cols + c];
                            }
                        }
                    }
                    writer.writeFloats(name, joined);
                }
                ObjectNode config = config(vocab);
                config.put("hidden_size", HIDDEN * k);
                config.put("intermediate_size", INTERMEDIATE * k);
                config.put("num_attention_heads", HEADS * k);
                config.put("num_key_value_heads", KV_HEADS * k);
                config.put("torch_dtype", "bfloat16");
                writer.writeFile("config.json", utf8(Json.pretty(config)));
                for (String file : List.of("tokenizer.json", "tokenizer_config.json", "generation_config.json")) {
                    writer.copyFile(members.getFirst().resolve(file), file);
                }
                extraFiles.forEach((file, bytes) -> writer.writeFile(file, bytes));
                writer.commit();
            }
        } finally {
            models.forEach(ModelDirectory::close);
        }
    }

    /**
     * Whether a member's tensor becomes a diagonal block of the joined one (the projections), rather than a slice of
     * columns beside the others' (norm weights, and the embeddings and {@code lm_head}, whose rows are the vocabulary).
     */
    private static boolean blockDiagonal(String name, long[] shape) {
        return shape.length == 2 && !name.equals("model.embed_tokens.weight") && !name.equals("lm_head.weight");
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
