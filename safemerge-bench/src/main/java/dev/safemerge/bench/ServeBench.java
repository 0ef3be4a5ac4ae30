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
 * What the OpenAI server costs on top of in-process generation. In the same run it measures generated tokens per
 * second of (a) one in-process {@link TextGenerator} call with all prompts (the bound), (b) the same prompts as
 * concurrent HTTP completion requests, batched by the server, and (c) the same requests one after another.
 * Greedy, end-of-sequence ignored, so every run generates the same number of tokens.
 *
 * <p>Usage: {@code safemerge-bench/run ServeBench MODEL_DIR [PROMPTS=8] [MAX_TOKENS=32] [RUNS=5]}
 */
public final class ServeBench {
    private ServeBench() {}

    public static void main(String[] args) throws Exception {
        Path modelDir = Path.of(args[0]);
        int prompts = args.length > 1 ? Integer.parseInt(args[1]) : 8;
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
            HttpClient client = HttpClient.newHttpClient();
            try (OpenAiServer server = OpenAiServer.start(
                    Map.of("m", generator), new OpenAiServer.Options("127.0.0.1", 0, null, prompts, 1024, 64))) {
                String url = "http://127.0.0.1:" + server.port() + "/v1/completions";
                // warm-up: JIT, kernels, connections
                generator.generate(ids, options, TextGenerator.TextListener.NONE);
                concurrent(client, url, texts, maxTokens);
                List<Double> inProcess = new ArrayList<>();
                List<Double> batchedHttp = new ArrayList<>();
                List<Double> sequentialHttp = new ArrayList<>();
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
                }
                double bound = median(inProcess);
                System.out.printf("prompts %d, tokens each %d, runs %d (medians)%n", prompts, maxTokens, runs);
                System.out.printf("in-process batch          %8.1f tok/s (bound)%n", bound);
                System.out.printf(
                        "HTTP, concurrent, batched %8.1f tok/s  ratio %.2f%n",
                        median(batchedHttp), median(batchedHttp) / bound);
                System.out.printf(
                        "HTTP, one at a time       %8.1f tok/s  ratio %.2f%n",
                        median(sequentialHttp), median(sequentialHttp) / bound);
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
