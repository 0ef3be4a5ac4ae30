package dev.safemerge.bench;

import com.fasterxml.jackson.databind.JsonNode;
import dev.safemerge.bench.InferenceBench.Shape;
import dev.safemerge.model.LogitDifference;
import dev.safemerge.model.Model;
import dev.safemerge.model.ModelLoadOptions;
import dev.safemerge.model.generate.KvCache;
import dev.safemerge.tensor.GgufWriter.TensorType;
import dev.safemerge.tensor.JsonMappers;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * InferenceBench's llama.cpp rows: the benchmark's checkpoint written as GGUF in BF16 and in Q8_0
 * ({@link LlamaGguf}), checked to compute the same logits as the engine on a short token sequence, then timed by
 * src/main/node/inference_bench_llamacpp.mjs through node-llama-cpp's prebuilt CPU build with the bench's threads,
 * each figure against the same bounds as the engine's rows (probed again right before and right after the run)
 * and as engine ÷ llama.cpp.
 *
 * <p>node-llama-cpp comes from {@code --llamacpp DIR} ({@code SAFEMERGE_LLAMACPP_DIR}, default
 * ~/.cache/safemerge-bench/node-llama-cpp); where DIR lacks it and npm is on the path, the bench installs the pinned
 * version there once with the linux-x64 CPU binaries only (no install scripts, so nothing is built or downloaded
 * besides the npm packages). Without node, or without the package and npm, the rows are skipped with a message.
 */
final class LlamaCppPeer {
    static final String VERSION = "3.22.1";

    /** Tokens of the logit check: long enough to exercise rope and attention over several positions. */
    private static final int CHECK_TOKENS = 8;

    private LlamaCppPeer() {}

    /** Where node-llama-cpp is installed unless {@code --llamacpp} says otherwise. */
    static String defaultDir() {
        return System.getenv()
                .getOrDefault(
                        "SAFEMERGE_LLAMACPP_DIR",
                        Path.of(System.getProperty("user.home"), ".cache/safemerge-bench/node-llama-cpp")
                                .toString());
    }

    /**
     * The rows, or one line saying why they are skipped.
     *
     * @param engine the engine's tokens/s by row: "prefill", "decode 1", "decode 16", "decode 64", and the same with "q8 "
     *     before them
     */
    static List<String> rows(BenchArgs options, Path dir, Shape shape, int threads, Map<String, Double> engine)
            throws Exception {
        Path modules = options.path("--llamacpp").resolve("node_modules");
        String missing = missing(options, modules);
        if (missing != null) {
            String line = "llama.cpp rows skipped: " + missing;
            System.out.println(line);
            return List.of(line);
        }
        List<String> rows = new ArrayList<>();
        int prefillTokens = options.integer("--prefill-tokens");
        for (TensorType type : List.of(TensorType.BF16, TensorType.Q8_0)) {
            String label = type.name().toLowerCase(Locale.ROOT);
            // the engine's rows for the same weights: bf16 beside BF16, its own q8 beside Q8_0
            String key = type == TensorType.BF16 ? "" : "q8 ";
            Path gguf = dir.resolve("model-" + label + ".gguf");
            long start = System.nanoTime();
            LlamaGguf.write(dir, gguf, type);
            System.out.printf(
                    Locale.ROOT,
                    "wrote %s (%.2f GB) in %.1f s%n",
                    gguf,
                    Files.size(gguf) / 1e9,
                    (System.nanoTime() - start) / 1e9);
            rows.add(check(options, modules, dir, gguf, type, threads, shape.vocab()));

            MachineBounds.ProbeChain probes = new MachineBounds.ProbeChain(threads);
            JsonNode result = runScript(
                    options,
                    gguf,
                    modules,
                    threads,
                    List.of(
                            "--prefill-tokens",
                            Integer.toString(prefillTokens),
                            "--decode-tokens",
                            options.text("--decode-tokens"),
                            "--batches",
                            "1,16,64",
                            "--repeats",
                            options.text("--repeats"),
                            "--prefill-warmup",
                            Integer.toString(InferenceBench.PREFILL_WARMUP),
                            "--decode-warmup-seconds",
                            Double.toString(InferenceBench.DECODE_WARMUP_SECONDS)),
                    "the llama.cpp benchmark");
            System.out.printf(
                    Locale.ROOT,
                    "  node-llama-cpp %s, llama.cpp %s, %s build, gpu %s, %d threads%n",
                    result.get("nodeLlamaCpp").asText(),
                    result.get("llamaCpp").asText(),
                    result.get("buildType").asText(),
                    result.get("gpu").asText(),
                    result.get("threads").asInt());
            // one script run times every row, so every row's bound comes from the probes before and after the run
            MachineBounds.Probe around = probes.around();
            // bytes of the matrices read per decode step in this file's format: every layer and the output projection
            double bytesPerToken = shape.parametersPerToken() * (double) type.blockBytes / type.blockElements;
            rows.add(peerRow(
                    "prefill " + prefillTokens + " tokens (llama.cpp " + label + ")",
                    result.get("prefill").asDouble(),
                    around.fmaFlops() / shape.prefillFlopsPerToken(prefillTokens),
                    "FMA",
                    engine.get(key + "prefill")));
            for (int batch : new int[] {1, 16, 64}) {
                double engineRate = engine.get(key + "decode " + batch);
                rows.add(peerRow(
                        "decode batch " + batch + " (llama.cpp " + label + ")",
                        result.get("decode").get(Integer.toString(batch)).asDouble(),
                        around.decodeBound(batch, bytesPerToken, 2.0 * shape.parametersPerToken()),
                        batch == 1 ? "bandwidth" : "min(" + batch + "x bandwidth, FMA)",
                        engineRate));
            }
        }
        return rows;
    }

    private static String peerRow(String name, double rate, double bound, String from, double engineRate) {
        String versus = String.format(Locale.ROOT, "engine ÷ llama.cpp %.2f", engineRate / rate);
        String row = String.format(
                Locale.ROOT, "%-44s %12.2f %12.2f %7.2f  %s; %s", name, rate, bound, rate / bound, from, versus);
        System.out.println("  " + row);
        return row;
    }

    /** Runs the node script on {@code gguf} with the bench's node, modules and threads, then {@code extra}. */
    private static JsonNode runScript(
            BenchArgs options, Path gguf, Path modules, int threads, List<String> extra, String what) throws Exception {
        List<String> command = new ArrayList<>(List.of(
                options.text("--node"),
                options.text("--llamacpp-script"),
                gguf.toString(),
                "--modules",
                modules.toString(),
                "--threads",
                Integer.toString(threads)));
        command.addAll(extra);
        return JsonMappers.plain().readTree(InferenceBench.lastLine(command, what));
    }

    /**
     * Logits of llama.cpp on the GGUF against the engine's on the checkpoint, after each of {@link #CHECK_TOKENS}
     * tokens: the largest difference, the rms difference relative to the rms logit, and how often the argmax agrees.
     * For Q8_0 the engine's own q8 against its bf16 is printed beside, the size of a comparable quantization error.
     */
    private static String check(
            BenchArgs options, Path modules, Path dir, Path gguf, TensorType type, int threads, int vocab)
            throws Exception {
        int[] tokens = InferenceBench.prompt(CHECK_TOKENS, 7, vocab);
        StringBuilder ids = new StringBuilder();
        for (int token : tokens) {
            ids.append(ids.isEmpty() ? "" : ",").append(token);
        }
        JsonNode result = runScript(
                options, gguf, modules, threads, List.of("--logits", ids.toString()), "the llama.cpp logit check");
        float[][] llamaCpp = new float[CHECK_TOKENS][vocab];
        for (int t = 0; t < CHECK_TOKENS; t++) {
            JsonNode row = result.get("logits").get(t);
            for (int v = 0; v < vocab; v++) {
                llamaCpp[t][v] = row.get(v).floatValue();
            }
        }
        ModelLoadOptions load = ModelLoadOptions.defaults().withThreads(threads);
        float[][] engine = logits(dir, load, tokens);
        String line = String.format(
                Locale.ROOT,
                "logit check, llama.cpp %s vs engine bf16 on %d tokens: %s",
                type.name().toLowerCase(Locale.ROOT),
                CHECK_TOKENS,
                LogitDifference.of(engine, llamaCpp));
        if (type == TensorType.Q8_0) {
            float[][] q8 = logits(dir, load.withQuantization(ModelLoadOptions.Quantization.Q8), tokens);
            line += "; engine q8 vs engine bf16: " + LogitDifference.of(engine, q8);
        }
        System.out.println("  " + line);
        return line;
    }

    /** The engine's logits after each token, the tokens given one step at a time as llama.cpp's are. */
    private static float[][] logits(Path dir, ModelLoadOptions load, int[] tokens) {
        try (Model model = Model.load(dir, load)) {
            KvCache cache = model.newCache(tokens.length);
            float[][] out = new float[tokens.length][];
            for (int t = 0; t < tokens.length; t++) {
                out[t] = model.step(List.of(cache), List.of(new int[] {tokens[t]}));
            }
            return out;
        }
    }

    /** Null when node runs and node-llama-cpp with its linux-x64 build is in {@code modules} (installed if npm can). */
    private static String missing(BenchArgs options, Path modules) throws InterruptedException {
        String node = options.text("--node");
        try {
            InferenceBench.lastLine(List.of(node, "--version"), "node");
        } catch (IOException | IllegalStateException e) {
            return node + " does not run (" + firstLine(e) + "); install Node.js 20 or later, or set --node";
        }
        if (installed(modules)) {
            return null;
        }
        String npm = options.text("--npm");
        Path prefix = modules.getParent();
        System.out.println("installing node-llama-cpp " + VERSION + " (CPU build) into " + prefix);
        try {
            Files.createDirectories(prefix);
            ProcessBuilder install = new ProcessBuilder(
                            npm,
                            "install",
                            "--prefix",
                            prefix.toString(),
                            "--omit=optional",
                            "--ignore-scripts",
                            "--no-audit",
                            "--no-fund",
                            "node-llama-cpp@" + VERSION,
                            "@node-llama-cpp/linux-x64@" + VERSION)
                    .redirectErrorStream(true);
            install.environment().put("NODE_LLAMA_CPP_SKIP_DOWNLOAD", "true");
            Process process = install.start();
            String output = new String(process.getInputStream().readAllBytes());
            if (process.waitFor() != 0 || !installed(modules)) {
                return npm + " could not install node-llama-cpp " + VERSION + " into " + prefix + " ("
                        + output.strip().lines().reduce((a, b) -> b).orElse("") + "); set --llamacpp or --npm";
            }
            return null;
        } catch (IOException e) {
            return "node-llama-cpp is not in " + modules + " and " + npm + " does not run (" + firstLine(e)
                    + "); set --llamacpp to a folder holding node_modules/node-llama-cpp, or --npm";
        }
    }

    private static boolean installed(Path modules) {
        return Files.isRegularFile(modules.resolve("node-llama-cpp/package.json"))
                && Files.isDirectory(modules.resolve("@node-llama-cpp/linux-x64/bins"));
    }

    private static String firstLine(Exception e) {
        String message = e.getMessage() == null ? e.toString() : e.getMessage();
        return message.strip().lines().findFirst().orElse("");
    }
}
