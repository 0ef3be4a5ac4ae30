package dev.safemerge.app.serve;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.safemerge.model.text.HfTokenizer;
import dev.safemerge.model.text.ScriptedTokenGenerator;
import dev.safemerge.model.text.TextGenerator;
import dev.safemerge.tensor.JsonMappers;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The OpenAI API over real HTTP on 127.0.0.1, with a scripted token generator behind it. */
class OpenAiServerTest {
    static final String ANSWER = "Paris is the capital of France.";
    static final ObjectMapper JSON = JsonMappers.plain();

    @TempDir
    static Path modelDir;

    static HfTokenizer tokenizer;
    static ScriptedTokenGenerator tokens;
    static OpenAiServer server;
    static final HttpClient CLIENT =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    /** Copies the tiny test tokenizer (a resource of the model module's test jar) into a model directory. */
    static Path tinyModel(Path dir) throws IOException {
        for (String file : List.of("tokenizer.json", "tokenizer_config.json", "generation_config.json")) {
            try (InputStream in = HfTokenizer.class.getResourceAsStream("tiny/" + file)) {
                Files.copy(in, dir.resolve(file));
            }
        }
        return dir;
    }

    @BeforeAll
    static void start() throws IOException {
        tokenizer = HfTokenizer.load(tinyModel(modelDir));
        tokens = new ScriptedTokenGenerator(tokenizer, prompt -> ANSWER, 4);
        TextGenerator generator = new TextGenerator(tokenizer, tokens);
        server = OpenAiServer.start(
                Map.of("tiny", generator, "tiny-adapter", generator),
                new OpenAiServer.Options("127.0.0.1", 0, null, 4, 64, 64, OpenAiServer.Options.defaultKvMemory()));
    }

    @AfterAll
    static void stop() {
        server.close();
        tokenizer.close();
    }

    static HttpResponse<String> post(OpenAiServer target, String path, String body, String... headers)
            throws IOException, InterruptedException {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + target.port() + path))
                .timeout(Duration.ofSeconds(60))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body));
        if (headers.length > 0) {
            request.headers(headers);
        }
        return CLIENT.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    static JsonNode json(HttpResponse<String> response) throws IOException {
        return JSON.readTree(response.body());
    }

    @Test
    void listsTheServedModels() throws Exception {
        HttpResponse<String> response = CLIENT.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/v1/models"))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).isEqualTo(200);
        List<String> ids = new ArrayList<>();
        json(response).path("data").forEach(m -> ids.add(m.path("id").asText()));
        assertThat(ids).containsExactlyInAnyOrder("tiny", "tiny-adapter");
        assertThat(json(response).path("object").asText()).isEqualTo("list");
    }

    @Test
    void completionReturnsTextFinishReasonAndUsage() throws Exception {
        HttpResponse<String> response = post(
                server,
                "/v1/completions",
                "{\"model\":\"tiny\",\"prompt\":\"The capital of France\",\"max_tokens\":50,\"temperature\":0}");
        assertThat(response.statusCode()).isEqualTo(200);
        JsonNode body = json(response);
        assertThat(body.path("object").asText()).isEqualTo("text_completion");
        assertThat(body.path("choices").get(0).path("text").asText()).isEqualTo(ANSWER);
        assertThat(body.path("choices").get(0).path("finish_reason").asText()).isEqualTo("stop");
        int promptTokens = tokenizer.encode("The capital of France").length;
        int completionTokens = tokenizer.encode(ANSWER, false).length + 1;
        assertThat(body.path("usage").path("prompt_tokens").asInt()).isEqualTo(promptTokens);
        assertThat(body.path("usage").path("completion_tokens").asInt()).isEqualTo(completionTokens);
        assertThat(body.path("usage").path("total_tokens").asInt()).isEqualTo(promptTokens + completionTokens);
    }

    @Test
    void maxTokensAndStopStringsEndGeneration() throws Exception {
        JsonNode limited =
                json(post(server, "/v1/completions", "{\"model\":\"tiny\",\"prompt\":\"Q\",\"max_tokens\":3}"));
        assertThat(limited.path("choices").get(0).path("finish_reason").asText())
                .isEqualTo("length");
        assertThat(limited.path("usage").path("completion_tokens").asInt()).isEqualTo(3);

        JsonNode stopped = json(post(
                server,
                "/v1/completions",
                "{\"model\":\"tiny\",\"prompt\":[\"Q\",\"R\"],\"stop\":[\"capital\"],\"max_tokens\":50}"));
        assertThat(stopped.path("choices")).hasSize(2);
        for (JsonNode choice : stopped.path("choices")) {
            assertThat(choice.path("text").asText()).isEqualTo("Paris is the ");
            assertThat(choice.path("finish_reason").asText()).isEqualTo("stop");
        }
    }

    @Test
    void chatCompletionAnswersThroughTheTemplate() throws Exception {
        HttpResponse<String> response = post(
                server,
                "/v1/chat/completions",
                "{\"model\":\"tiny-adapter\",\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},"
                        + "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"Capital of France?\"}]}]}");
        assertThat(response.statusCode()).isEqualTo(200);
        JsonNode body = json(response);
        assertThat(body.path("object").asText()).isEqualTo("chat.completion");
        assertThat(body.path("model").asText()).isEqualTo("tiny-adapter");
        JsonNode choice = body.path("choices").get(0);
        assertThat(choice.path("message").path("role").asText()).isEqualTo("assistant");
        assertThat(choice.path("message").path("content").asText()).isEqualTo(ANSWER);
        int promptTokens = tokenizer.encode(
                        "<|bos|><|system|>Be brief.<|end|><|user|>Capital of France?<|end|><|assistant|>", false)
                .length;
        assertThat(body.path("usage").path("prompt_tokens").asInt()).isEqualTo(promptTokens);
    }

    /** Parses a server-sent event stream into its data payloads. */
    static List<String> events(String stream) {
        List<String> data = new ArrayList<>();
        for (String block : stream.split("\n\n")) {
            if (!block.isBlank()) {
                assertThat(block).startsWith("data: ");
                data.add(block.substring("data: ".length()));
            }
        }
        return data;
    }

    @Test
    void chatStreamsDeltasThenFinishUsageAndDone() throws Exception {
        HttpResponse<String> response = post(
                server,
                "/v1/chat/completions",
                "{\"model\":\"tiny\",\"stream\":true,\"stream_options\":{\"include_usage\":true},"
                        + "\"messages\":[{\"role\":\"user\",\"content\":\"Capital of France?\"}]}");
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("Content-Type").orElse("")).startsWith("text/event-stream");
        List<String> data = events(response.body());
        assertThat(data.getLast()).isEqualTo("[DONE]");
        StringBuilder content = new StringBuilder();
        String finish = null;
        JsonNode usage = null;
        for (String payload : data.subList(0, data.size() - 1)) {
            JsonNode chunk = JSON.readTree(payload);
            assertThat(chunk.path("object").asText()).isEqualTo("chat.completion.chunk");
            if (chunk.has("usage")) {
                usage = chunk.path("usage");
                continue;
            }
            JsonNode choice = chunk.path("choices").get(0);
            content.append(choice.path("delta").path("content").asText(""));
            if (!choice.path("finish_reason").isNull()) {
                finish = choice.path("finish_reason").asText();
            }
        }
        assertThat(content.toString()).isEqualTo(ANSWER);
        assertThat(data.size()).isGreaterThan(4); // streamed in several deltas
        assertThat(finish).isEqualTo("stop");
        assertThat(usage.path("completion_tokens").asInt()).isEqualTo(tokenizer.encode(ANSWER, false).length + 1);
    }

    @Test
    void completionStreamsText() throws Exception {
        HttpResponse<String> response = post(
                server, "/v1/completions", "{\"model\":\"tiny\",\"prompt\":\"Q\",\"stream\":true,\"max_tokens\":50}");
        List<String> data = events(response.body());
        assertThat(data.getLast()).isEqualTo("[DONE]");
        StringBuilder text = new StringBuilder();
        for (String payload : data.subList(0, data.size() - 1)) {
            text.append(
                    JSON.readTree(payload).path("choices").get(0).path("text").asText());
        }
        assertThat(text.toString()).isEqualTo(ANSWER);
    }

    @Test
    void malformedRequestsGet400WithAnOpenAiError() throws Exception {
        List<String> bad = List.of(
                "{not json",
                "[1,2]",
                "{\"prompt\":\"x\"}",
                "{\"model\":\"tiny\"}",
                "{\"model\":\"tiny\",\"prompt\":{}}",
                "{\"model\":\"tiny\",\"prompt\":\"x\",\"temperature\":\"hot\"}",
                "{\"model\":\"tiny\",\"prompt\":\"x\",\"temperature\":3}",
                "{\"model\":\"tiny\",\"prompt\":\"x\",\"max_tokens\":-1}",
                "{\"model\":\"tiny\",\"prompt\":\"x\",\"n\":2}",
                "{\"model\":\"tiny\",\"prompt\":\"x\",\"stop\":[1]}",
                "{\"model\":\"tiny\",\"prompt\":[1,99999]}",
                "{\"model\":\"tiny\",\"prompt\":\"x\",\"echo\":true}");
        for (String body : bad) {
            HttpResponse<String> response = post(server, "/v1/completions", body);
            assertThat(response.statusCode()).as(body).isEqualTo(400);
            assertThat(json(response).path("error").path("message").asText())
                    .as(body)
                    .isNotBlank();
            assertThat(json(response).path("error").path("type").asText()).isEqualTo("invalid_request_error");
        }
        for (String body : List.of(
                "{\"model\":\"tiny\"}",
                "{\"model\":\"tiny\",\"messages\":[]}",
                "{\"model\":\"tiny\",\"messages\":[{\"content\":\"x\"}]}",
                "{\"model\":\"tiny\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\"}]}]}")) {
            assertThat(post(server, "/v1/chat/completions", body).statusCode())
                    .as(body)
                    .isEqualTo(400);
        }
    }

    @Test
    void unknownModelsAndPathsGet404() throws Exception {
        HttpResponse<String> response = post(server, "/v1/completions", "{\"model\":\"gpt-4\",\"prompt\":\"x\"}");
        assertThat(response.statusCode()).isEqualTo(404);
        assertThat(json(response).path("error").path("code").asText()).isEqualTo("model_not_found");
        assertThat(post(server, "/v1/embeddings", "{}").statusCode()).isEqualTo(404);
    }

    @Test
    void apiKeyIsRequiredWhenConfigured() throws Exception {
        TextGenerator generator = new TextGenerator(tokenizer, tokens);
        try (OpenAiServer guarded = OpenAiServer.start(
                Map.of("tiny", generator),
                new OpenAiServer.Options("127.0.0.1", 0, "s3cret", 2, 8, 16, OpenAiServer.Options.defaultKvMemory()))) {
            String body = "{\"model\":\"tiny\",\"prompt\":\"Q\",\"max_tokens\":2}";
            HttpResponse<String> none = post(guarded, "/v1/completions", body);
            assertThat(none.statusCode()).isEqualTo(401);
            assertThat(json(none).path("error").path("code").asText()).isEqualTo("invalid_api_key");
            assertThat(post(guarded, "/v1/completions", body, "Authorization", "Bearer wrong")
                            .statusCode())
                    .isEqualTo(401);
            assertThat(post(guarded, "/v1/completions", body, "Authorization", "Bearer s3cret")
                            .statusCode())
                    .isEqualTo(200);
        }
    }

    @Test
    void concurrentRequestsShareBatchesAndAFullQueueGets429() throws Exception {
        ScriptedTokenGenerator slow = new ScriptedTokenGenerator(tokenizer, prompt -> ANSWER, 4);
        CountDownLatch gate = new CountDownLatch(1);
        slow.holdEachCallUntil(gate);
        TextGenerator generator = new TextGenerator(tokenizer, slow);
        try (OpenAiServer busy = OpenAiServer.start(
                Map.of("tiny", generator),
                new OpenAiServer.Options("127.0.0.1", 0, null, 4, 5, 16, OpenAiServer.Options.defaultKvMemory()))) {
            // one seed for all: a generator that cannot take sequences into a running batch batches only requests of
            // one sampling setting, and a request without a seed samples with its own
            String body = "{\"model\":\"tiny\",\"prompt\":\"Q\",\"max_tokens\":50,\"seed\":1}";
            List<CompletableFuture<HttpResponse<String>>> responses = new ArrayList<>();
            for (int i = 0; i < 12; i++) {
                responses.add(CLIENT.sendAsync(
                        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + busy.port() + "/v1/completions"))
                                .POST(HttpRequest.BodyPublishers.ofString(body))
                                .build(),
                        HttpResponse.BodyHandlers.ofString()));
            }
            // The first batch waits at the gate, so at most 4 running and 5 queued requests are admitted: at least 3
            // of the 12 are turned away before anything is generated, however slowly the requests arrive.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (responses.stream().filter(CompletableFuture::isDone).count() < 3) {
                assertThat(System.nanoTime())
                        .as("rejections before the gate opens")
                        .isLessThan(deadline);
                Thread.sleep(5);
            }
            gate.countDown();
            List<Integer> codes = Collections.synchronizedList(new ArrayList<>());
            for (CompletableFuture<HttpResponse<String>> response : responses) {
                HttpResponse<String> done = response.get();
                codes.add(done.statusCode());
                if (done.statusCode() == 200) {
                    assertThat(json(done).path("choices").get(0).path("text").asText())
                            .isEqualTo(ANSWER);
                } else {
                    assertThat(json(done).path("error").path("type").asText()).isEqualTo("rate_limit_error");
                }
            }
            assertThat(codes).contains(200, 429).containsOnly(200, 429);
            assertThat(slow.batchSizes().stream()
                            .mapToInt(Integer::intValue)
                            .max()
                            .orElse(0))
                    .isGreaterThan(1);
            // still serving after the burst
            assertThat(post(busy, "/v1/completions", body).statusCode()).isEqualTo(200);
        }
    }
}
