package dev.safemerge.eval.gen;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.MissingNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.safemerge.eval.Json;
import dev.safemerge.model.generate.Sampling;
import dev.safemerge.model.text.ChatMessage;
import dev.safemerge.tensor.BadInputException;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Generates through any OpenAI-compatible server (vLLM, llama.cpp's server, TGI, {@code safemerge serve}). Chat requests
 * go to {@code /v1/chat/completions}, where the server applies the model's chat template; raw prompts go to
 * {@code /v1/completions}. Requests run concurrently up to a limit; 429, 5xx and connection failures are retried with
 * exponential backoff; an unreachable server or an answer that is not a completion is a {@link BadInputException}.
 */
public final class OpenAiGenerator implements ResponseGenerator {
    /**
     * @param endpoint base URL of the server, with or without a trailing {@code /v1}
     * @param apiKey bearer token, or null
     * @param maxAttempts tries per request, the first included
     */
    public record Options(
            String endpoint,
            String modelName,
            String apiKey,
            int concurrency,
            Duration connectTimeout,
            Duration requestTimeout,
            int maxAttempts,
            Duration initialBackoff) {
        public Options {
            if (concurrency < 1 || maxAttempts < 1) {
                throw new IllegalArgumentException("concurrency and maxAttempts must be at least 1");
            }
        }

        /** These settings for the server at {@code endpoint} serving {@code modelName}. */
        public Options at(String endpoint, String modelName) {
            return new Options(
                    endpoint,
                    modelName,
                    apiKey,
                    concurrency,
                    connectTimeout,
                    requestTimeout,
                    maxAttempts,
                    initialBackoff);
        }

        public static Options defaults(String endpoint, String modelName) {
            return new Options(
                    endpoint,
                    modelName,
                    null,
                    4,
                    Duration.ofSeconds(10),
                    Duration.ofMinutes(5),
                    6,
                    Duration.ofMillis(500));
        }
    }

    private static final Duration MAX_BACKOFF = Duration.ofSeconds(60);

    private final Options options;
    private final String base;
    private final HttpClient client;

    public OpenAiGenerator(Options options) {
        this.options = options;
        this.base = baseUrl(options.endpoint());
        this.client = HttpClient.newBuilder()
                .connectTimeout(options.connectTimeout())
                .version(HttpClient.Version.HTTP_1_1)
                .build();
    }

    static String baseUrl(String endpoint) {
        String url = endpoint.strip();
        while (url.endsWith("/")) {
            url = url.substring(0, url.length() - 1);
        }
        if (url.endsWith("/v1")) {
            url = url.substring(0, url.length() - 3);
        }
        URI uri;
        try {
            uri = URI.create(url);
        } catch (IllegalArgumentException e) {
            throw new BadInputException("--endpoint " + endpoint + ": not a URL", e);
        }
        if (!"http".equals(uri.getScheme()) && !"https".equals(uri.getScheme()) || uri.getHost() == null) {
            throw new BadInputException("--endpoint " + endpoint + ": expected http://HOST:PORT or https://HOST");
        }
        return url;
    }

    /** The same server and settings for another of its models (an adapter it serves, for instance). */
    public OpenAiGenerator withModel(String modelName) {
        Options o = options;
        return new OpenAiGenerator(new Options(
                o.endpoint(),
                modelName,
                o.apiKey(),
                o.concurrency(),
                o.connectTimeout(),
                o.requestTimeout(),
                o.maxAttempts(),
                o.initialBackoff()));
    }

    @Override
    public String modelIdentity() {
        return "openai-compatible " + base + " model=" + options.modelName();
    }

    @Override
    public String describe() {
        return modelIdentity();
    }

    @Override
    public void generate(List<GenerationRequest> requests, Sampling params, ResponseSink sink) {
        Semaphore permits = new Semaphore(options.concurrency());
        // after a failure no new request is sent, and those on the wire are answered (and their answers kept) before
        // this returns, so the server has seen every request of the run by then
        AtomicBoolean failed = new AtomicBoolean();
        List<Future<?>> futures = new ArrayList<>();
        try (ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < requests.size(); i++) {
                int index = i;
                futures.add(executor.submit(() -> {
                    permits.acquire();
                    try {
                        if (!failed.get()) {
                            sink.accept(index, generateOne(requests.get(index), params));
                        }
                    } catch (RuntimeException | Error e) {
                        failed.set(true);
                        throw e;
                    } finally {
                        permits.release();
                    }
                    return null;
                }));
            }
            Futures.awaitEach(futures);
        }
    }

    /**
     * The model names the server lists at {@code GET /v1/models}, asked once: an unreachable server, or an answer that
     * is not a model list, is bad input naming {@code option} (so that a run fails before any work).
     */
    public List<String> servedModels(String option) {
        HttpResponse<String> response =
                send(option, "/v1/models", HttpRequest.newBuilder().GET());
        if (response.statusCode() != 200) {
            throw new BadInputException(option + " " + base + ": GET /v1/models answered HTTP " + response.statusCode()
                    + " " + snippet(response.body()));
        }
        List<String> names = new ArrayList<>();
        try {
            for (JsonNode model : Json.MAPPER.readTree(response.body()).path("data")) {
                names.add(model.path("id").asText());
            }
        } catch (JsonProcessingException e) {
            throw new BadInputException(
                    option + " " + base + ": GET /v1/models is not JSON: " + snippet(response.body()));
        }
        return names;
    }

    /**
     * Loads a PEFT adapter into the server under {@code name} with vLLM's dynamic-LoRA API ({@code POST
     * /v1/load_lora_adapter}); {@code path} is read by the server, so it must be visible there. An adapter already
     * loaded under that name is taken as it is: callers put a content hash into the name.
     */
    public void loadLoraAdapter(String name, Path path) {
        ObjectNode body = Json.object().put("lora_name", name).put("lora_path", path.toString());
        HttpResponse<String> response = post("/v1/load_lora_adapter", body);
        if (response.statusCode() != 200 && !response.body().contains("already been loaded")) {
            throw new BadInputException("--endpoint " + base + " did not load the adapter " + path + ": HTTP "
                    + response.statusCode() + " " + snippet(response.body()));
        }
    }

    /** Unloads an adapter ({@code POST /v1/unload_lora_adapter}); one the server does not hold (404) is no error. */
    public void unloadLoraAdapter(String name) {
        HttpResponse<String> response =
                post("/v1/unload_lora_adapter", Json.object().put("lora_name", name));
        if (response.statusCode() != 200 && response.statusCode() != 404) {
            throw new BadInputException("--endpoint " + base + " did not unload the adapter " + name + ": HTTP "
                    + response.statusCode() + " " + snippet(response.body()));
        }
    }

    private HttpResponse<String> post(String path, ObjectNode body) {
        return send(
                "--endpoint",
                path,
                HttpRequest.newBuilder()
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(Json.line(body), StandardCharsets.UTF_8)));
    }

    private HttpResponse<String> send(String option, String path, HttpRequest.Builder request) {
        request.uri(URI.create(base + path)).timeout(options.requestTimeout());
        if (options.apiKey() != null) {
            request.header("Authorization", "Bearer " + options.apiKey());
        }
        try {
            return client.send(request.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new BadInputException(option + " " + base + ": unreachable ("
                    + e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage()) + ")");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while calling " + base + path, e);
        }
    }

    String generateOne(GenerationRequest request, Sampling params) throws InterruptedException {
        boolean chat = request instanceof GenerationRequest.Chat;
        String path = chat ? "/v1/chat/completions" : "/v1/completions";
        String body = Json.line(requestBody(request, params));
        String lastProblem = "";
        for (int attempt = 1; attempt <= options.maxAttempts(); attempt++) {
            Duration wait = backoff(attempt);
            try {
                HttpRequest.Builder http = HttpRequest.newBuilder(URI.create(base + path))
                        .timeout(options.requestTimeout())
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8));
                if (options.apiKey() != null) {
                    http.header("Authorization", "Bearer " + options.apiKey());
                }
                HttpResponse<String> response =
                        client.send(http.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
                int status = response.statusCode();
                if (status == 200) {
                    return params.applyStop(parse(response.body(), chat, path));
                }
                lastProblem = "HTTP " + status + " " + snippet(response.body());
                if (status != 429 && status < 500) {
                    throw new BadInputException(base + path + " refused the request: " + lastProblem);
                }
                wait = maxDuration(wait, retryAfter(response));
            } catch (IOException e) {
                lastProblem = e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage());
            }
            if (attempt < options.maxAttempts()) {
                Thread.sleep(wait);
            }
        }
        throw new BadInputException("--endpoint " + base + " did not answer after " + options.maxAttempts()
                + " attempts (last: " + lastProblem + ")");
    }

    private ObjectNode requestBody(GenerationRequest request, Sampling params) {
        ObjectNode body = Json.object();
        body.put("model", options.modelName());
        switch (request) {
            case GenerationRequest.Chat chat -> {
                ArrayNode messages = body.putArray("messages");
                for (ChatMessage message : chat.messages()) {
                    messages.addObject().put("role", message.role()).put("content", message.content());
                }
            }
            case GenerationRequest.Raw raw -> body.put("prompt", raw.prompt());
        }
        body.put("max_tokens", params.maxNewTokens());
        body.put("temperature", params.temperature());
        body.put("top_p", params.topP());
        body.put("seed", params.seed());
        body.put("n", 1);
        if (params.topK() > 0) {
            body.put("top_k", params.topK());
        }
        if (params.repetitionPenalty() != 1.0) {
            // vLLM and TGI read repetition_penalty, llama.cpp's server reads repeat_penalty; each ignores the other.
            body.put("repetition_penalty", params.repetitionPenalty());
            body.put("repeat_penalty", params.repetitionPenalty());
        }
        if (!params.stop().isEmpty()) {
            body.set("stop", Json.MAPPER.valueToTree(params.stop()));
        }
        return body;
    }

    private String parse(String body, boolean chat, String path) {
        JsonNode root;
        try {
            root = Json.MAPPER.readTree(body);
        } catch (JsonProcessingException e) {
            throw new BadInputException(base + path + " answered with something that is not JSON: " + snippet(body));
        }
        JsonNode choice =
                root == null ? MissingNode.getInstance() : root.path("choices").path(0);
        JsonNode text = chat ? choice.path("message").path("content") : choice.path("text");
        if (!(text.isTextual() || chat && text.isNull() && choice.has("message"))) {
            throw new BadInputException(base + path + " answered without choices[0]."
                    + (chat ? "message.content" : "text") + ": " + snippet(body));
        }
        return text.isNull() ? "" : text.asText();
    }

    private Duration backoff(int attempt) {
        Duration wait = options.initialBackoff().multipliedBy(1L << Math.min(attempt - 1, 20));
        return wait.compareTo(MAX_BACKOFF) > 0 ? MAX_BACKOFF : wait;
    }

    private static Duration retryAfter(HttpResponse<String> response) {
        return response.headers()
                .firstValue("Retry-After")
                .map(value -> {
                    try {
                        long seconds = Long.parseLong(value.strip());
                        return Duration.ofSeconds(Math.min(Math.max(seconds, 0), MAX_BACKOFF.toSeconds()));
                    } catch (NumberFormatException e) {
                        return Duration.ZERO;
                    }
                })
                .orElse(Duration.ZERO);
    }

    private static Duration maxDuration(Duration a, Duration b) {
        return a.compareTo(b) >= 0 ? a : b;
    }

    private static String snippet(String body) {
        String oneLine = body.replaceAll("\\s+", " ").strip();
        return oneLine.length() <= 200 ? "'" + oneLine + "'" : "'" + oneLine.substring(0, 200) + "…'";
    }
}
