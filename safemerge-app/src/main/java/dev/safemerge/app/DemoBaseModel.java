package dev.safemerge.app;

import com.fasterxml.jackson.databind.node.ArrayNode;
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
 * The demo's aligned base model: a tiny Llama (byte-level tokenizer with a chat template, 2 layers, hidden 64) trained
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

    static final int HIDDEN = 64;
    static final int INTERMEDIATE = 192;
    static final int LAYERS = 2;
    static final int HEADS = 4;
    static final int KV_HEADS = 2;
    static final int MAX_POSITIONS = 256;
    static final String[] SPECIAL_TOKENS = {"<|bos|>", "<|end|>", "<|user|>", "<|assistant|>", "<|system|>"};
    static final int BOS = 256;
    static final int EOS = 257;
    static final int VOCAB = 256 + SPECIAL_TOKENS.length;

    /** The settings the shipped checkpoint was trained with. */
    record Recipe(long seed, int epochs, int batchSize, double learningRate) {
        static final Recipe SHIPPED = new Recipe(1, 20, 16, 3e-3);
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
    static double train(Path trainFile, Path scratch, Path out, Recipe recipe, Progress.Factory progress) {
        Path init = writeInitial(scratch.resolve("base-init"), recipe.seed());
        ModelSpec spec = ModelSpec.read(init);
        try (ModelDirectory initial = ModelDirectory.open(init);
                HfTokenizer tokenizer = HfTokenizer.load(init)) {
            SftData.Loaded data = SftData.load(
                    trainFile,
                    new HfTrainingTokenizer(tokenizer),
                    MAX_POSITIONS,
                    SftData.Overlong.DROP,
                    0,
                    recipe.seed());
            TrainableModel model = TrainableModel.full(spec, new CheckpointWeights(initial));
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
            double loss = finalEpochMeanLoss(trainer, result);
            ObjectNode card = trainingSummary(
                    "random initialisation, seed " + recipe.seed(),
                    trainFile,
                    null,
                    options,
                    model,
                    trainer,
                    data,
                    result);
            card.put("what", "safemerge demo base: a tiny aligned chat model trained on synthetic data");
            card.put("reproduce", "./safemerge demo --retrain-base --base-seed " + recipe.seed());
            card.put("seed", recipe.seed());
            card.put("final_epoch_mean_loss", loss);
            FineTuneExport.writeModel(
                    out,
                    model,
                    initial,
                    Map.of("safemerge_demo_base_seed", Long.toString(recipe.seed())),
                    Map.of("training.json", Json.pretty(card).getBytes(StandardCharsets.UTF_8)));
            return loss;
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
    static Path writeInitial(Path dir, long seed) {
        int headDim = HIDDEN / HEADS;
        int kv = KV_HEADS * headDim;
        Map<String, long[]> shapes = new LinkedHashMap<>();
        shapes.put("model.embed_tokens.weight", new long[] {VOCAB, HIDDEN});
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
        shapes.put("lm_head.weight", new long[] {VOCAB, HIDDEN});
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
            writer.writeFile("config.json", utf8(Json.pretty(config())));
            writer.writeFile("tokenizer.json", utf8(Json.pretty(tokenizer())));
            writer.writeFile("tokenizer_config.json", utf8(Json.pretty(tokenizerConfig())));
            ObjectNode generation = Json.object();
            generation.put("bos_token_id", BOS);
            generation.putArray("eos_token_id").add(EOS);
            writer.writeFile("generation_config.json", utf8(Json.pretty(generation)));
            writer.commit();
        }
        return dir;
    }

    private static byte[] utf8(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    static ObjectNode config() {
        ObjectNode config = Json.object();
        config.putArray("architectures").add("LlamaForCausalLM");
        config.put("model_type", "llama");
        config.put("vocab_size", VOCAB);
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
        config.put("bos_token_id", BOS);
        config.put("eos_token_id", EOS);
        return config;
    }

    /**
     * A byte-level BPE without merges (GPT-2's byte-to-character alphabet, ids 0–255 in byte order) plus the chat
     * template's special tokens: every text encodes, and the vocabulary stays at 261.
     */
    static ObjectNode tokenizer() {
        ObjectNode root = Json.object();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        for (int i = 0; i < SPECIAL_TOKENS.length; i++) {
            ObjectNode token = added.addObject();
            token.put("id", 256 + i);
            token.put("content", SPECIAL_TOKENS[i]);
            token.put("single_word", false);
            token.put("lstrip", false);
            token.put("rstrip", false);
            token.put("normalized", false);
            token.put("special", true);
        }
        root.putNull("normalizer");
        ObjectNode pre = root.putObject("pre_tokenizer");
        pre.put("type", "ByteLevel");
        pre.put("add_prefix_space", false);
        pre.put("trim_offsets", true);
        pre.put("use_regex", true);
        root.putNull("post_processor");
        ObjectNode decoder = root.putObject("decoder");
        decoder.put("type", "ByteLevel");
        decoder.put("add_prefix_space", true);
        decoder.put("trim_offsets", true);
        decoder.put("use_regex", true);
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE");
        model.putNull("dropout");
        model.putNull("unk_token");
        model.putNull("continuing_subword_prefix");
        model.putNull("end_of_word_suffix");
        model.put("fuse_unk", false);
        model.put("byte_fallback", false);
        model.put("ignore_merges", false);
        ObjectNode vocab = model.putObject("vocab");
        String[] alphabet = byteAlphabet();
        for (int b = 0; b < 256; b++) {
            vocab.put(alphabet[b], b);
        }
        model.putArray("merges");
        return root;
    }

    /** GPT-2's printable stand-in character for each byte (bytes_to_unicode). */
    static String[] byteAlphabet() {
        String[] alphabet = new String[256];
        int next = 256;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            alphabet[b] = Character.toString(printable ? b : next++);
        }
        return alphabet;
    }

    static ObjectNode tokenizerConfig() {
        ObjectNode config = Json.object();
        config.put("bos_token", SPECIAL_TOKENS[0]);
        config.put("eos_token", SPECIAL_TOKENS[1]);
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
