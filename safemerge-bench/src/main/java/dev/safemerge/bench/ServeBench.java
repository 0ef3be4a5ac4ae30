package dev.safemerge.bench;

import dev.safemerge.app.serve.OpenAiServer;
import dev.safemerge.model.Model;
import dev.safemerge.model.ModelLoadOptions;
import dev.safemerge.model.generate.Sampling;
import dev.safemerge.model.text.EngineTokenGenerator;
import dev.safemerge.model.text.HfTokenizer;
import dev.safemerge.model.text.TextGenerator;
import dev.safemerge.tensor.Progress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * The text generation server under load against in-process generation. In the same run it measures generated tokens
 * per second of (a) one in-process {@link TextGenerator} call with all prompts in one batch (the bound), (b) the same
 * prompts as that many concurrent HTTP clients, one completion request each, which the server batches as they
 * arrive (continuous batching, a batch as large as the prompts), and (c) the same requests one after another. Greedy,
 * end-of-sequence ignored, so every run generates the same number of tokens. Each run's ratio is taken against the
 * bound of the same run.
 *
 * <p>Usage: {@code safemerge-bench/run ServeBench MODEL_DIR [PROMPTS=64] [MAX_TOKENS=32] [RUNS=5]}
 */
public final class ServeBench {
    private ServeBench() {}

    public static void main(String[] args) throws Exception {
        Path modelDir = Path.of(args[0]);
        int prompts = args.length > 1 ? Integer.parseInt(args[1]) : 64;
        int maxTokens = args.length > 2 ? Integer.parseInt(args[2]) : 32;
        int runs = args.length > 3 ? Integer.parseInt(args[3]) : 5;
        try (Model model = Model.load(modelDir, ModelLoadOptions.defaults());
                HfTokenizer tokenizer = HfTokenizer.load(modelDir)) {
            TextGenerator generator =
                    new TextGenerator(tokenizer, new EngineTokenGenerator(model.generator(prompts), Progress.SILENT));
            Sampling options = Sampling.greedy(maxTokens).withIgnoreEos(true);
            List<String> texts = new ArrayList<>();
            for (int i = 0; i < prompts; i++) {
                texts.add("Question " + i + ": what is the capital of France?");
            }
            List<int[]> ids = texts.stream().map(generator::promptIds).toList();
            // HTTP/1.1: a client that tries HTTP/2 first holds back concurrent requests until the upgrade settles
            HttpClient client =
                    HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
            try (OpenAiServer server = OpenAiServer.start(
                    Map.of("m", generator),
                    new OpenAiServer.Options(
                            "127.0.0.1", 0, null, prompts, 1024, 64, OpenAiServer.Options.defaultKvMemory()))) {
                String url = "http://127.0.0.1:" + server.port() + "/v1/completions";
                // warm-up: JIT, kernels, connections
                generator.generate(ids, options, TextGenerator.TextListener.NONE);
                concurrent(client, url, texts, maxTokens);
                List<Double> inProcess = new ArrayList<>();
                List<Double> batchedHttp = new ArrayList<>();
                List<Double> sequentialHttp = new ArrayList<>();
                List<Double> batchedRatio = new ArrayList<>();
                List<Double> sequentialRatio = new ArrayList<>();
                long tokens = (long) prompts * maxTokens;
                for (int run = 0; run < runs; run++) {
                    long start = System.nanoTime();
                    generator.generate(ids, options, TextGenerator.TextListener.NONE);
                    inProcess.add(tokens / seconds(start));
                    start = System.nanoTime();
                    concurrent(client, url, texts, maxTokens);
                    batchedHttp.add(tokens / seconds(start));
                    start = System.nanoTime();
                    for (String text : texts) {
                        concurrent(client, url, List.of(text), maxTokens);
                    }
                    sequentialHttp.add(tokens / seconds(start));
                    batchedRatio.add(batchedHttp.getLast() / inProcess.getLast());
                    sequentialRatio.add(sequentialHttp.getLast() / inProcess.getLast());
                }
                System.out.printf(
                        "prompts %d, tokens each %d, N = %d runs (median, with the lowest and highest run)%n",
                        prompts, maxTokens, runs);
                System.out.printf(
                        "in-process batch of %d        %8.1f tok/s (bound) [%.1f, %.1f]%n",
                        prompts, median(inProcess), Collections.min(inProcess), Collections.max(inProcess));
                System.out.printf(
                        "HTTP, %d concurrent clients  %8.1f tok/s  ratio %.2f [%.2f, %.2f]%n",
                        prompts,
                        median(batchedHttp),
                        median(batchedRatio),
                        Collections.min(batchedRatio),
                        Collections.max(batchedRatio));
                System.out.printf(
                        "HTTP, one at a time          %8.1f tok/s  ratio %.2f [%.2f, %.2f]%n",
                        median(sequentialHttp),
                        median(sequentialRatio),
                        Collections.min(sequentialRatio),
                        Collections.max(sequentialRatio));
            }
        }
    }

    private static void concurrent(HttpClient client, String url, List<String> texts, int maxTokens) {
        List<CompletableFuture<HttpResponse<String>>> responses = new ArrayList<>();
        for (String text : texts) {
            String body = "{\"model\":\"m\",\"temperature\":0,\"ignore_eos\":true,\"max_tokens\":" + maxTokens
                    + ",\"prompt\":\"" + text + "\"}";
            responses.add(client.sendAsync(
                    HttpRequest.newBuilder(URI.create(url))
                            .POST(HttpRequest.BodyPublishers.ofString(body))
                            .build(),
                    HttpResponse.BodyHandlers.ofString()));
        }
        for (CompletableFuture<HttpResponse<String>> response : responses) {
            HttpResponse<String> done = response.join();
            if (done.statusCode() != 200) {
                throw new IllegalStateException("HTTP " + done.statusCode() + ": " + done.body());
            }
        }
    }

    private static double seconds(long startNanos) {
        return (System.nanoTime() - startNanos) / 1e9;
    }

    private static double median(List<Double> values) {
        List<Double> sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        int n = sorted.size();
        return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
    }
}
