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
