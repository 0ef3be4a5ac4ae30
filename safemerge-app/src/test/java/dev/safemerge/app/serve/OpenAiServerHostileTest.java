package dev.safemerge.app.serve;

import static dev.safemerge.app.serve.OpenAiServerTest.CLIENT;
import static dev.safemerge.app.serve.OpenAiServerTest.json;
import static dev.safemerge.app.serve.OpenAiServerTest.post;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.safemerge.model.generate.Sampling;
import dev.safemerge.model.text.HfTokenizer;
import dev.safemerge.model.text.ScriptedTokenGenerator;
import dev.safemerge.model.text.TextGenerator;
import dev.safemerge.model.text.TokenGenerator;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The server under hostile input, over real HTTP on 127.0.0.1: clients that vanish mid-stream, prompts beyond the
 * context window, oversized bodies and message lists, wrong methods and paths. Every answer is OpenAI-style JSON.
 * The timeout only keeps a regression from hanging the build.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class OpenAiServerHostileTest {
    static final int WINDOW = 64;

    @TempDir
    static Path modelDir;

    static HfTokenizer tokenizer;
    static EndlessTokens endless;
    static OpenAiServer server;
    static final List<String> LOG = Collections.synchronizedList(new ArrayList<>());

    /** Generates one token after another until told to stop: a model that never says end-of-sequence. */
    static final class EndlessTokens implements TokenGenerator {
        final CountDownLatch stopped = new CountDownLatch(1);
        volatile int token;

        @Override
        public int maxBatch() {
            return 4;
        }

        @Override
        public int contextLength() {
            return Integer.MAX_VALUE;
        }

        @Override
        public List<TokenOutput> generate(List<int[]> prompts, Sampling options, TokenListener listener) {
            int[] produced = new int[prompts.size()];
            boolean[] done = new boolean[prompts.size()];
            int active = prompts.size();
            while (active > 0) {
                for (int s = 0; s < prompts.size(); s++) {
                    if (done[s]) {
                        continue;
                    }
                    produced[s]++;
                    if (!listener.accept(s, token) || produced[s] >= options.maxNewTokens()) {
                        done[s] = true;
                        active--;
                    }
                }
            }
            stopped.countDown();
            List<TokenOutput> outputs = new ArrayList<>();
            for (int s = 0; s < prompts.size(); s++) {
                outputs.add(new TokenOutput(new int[produced[s]], "callback", prompts.get(s).length));
            }
            return outputs;
        }
    }

    @BeforeAll
    static void start() throws Exception {
        tokenizer = HfTokenizer.load(OpenAiServerTest.tinyModel(modelDir));
        endless = new EndlessTokens();
        endless.token = tokenizer.encode("a", false)[0];
        TextGenerator scripted = new TextGenerator(
                tokenizer, new ScriptedTokenGenerator(tokenizer, prompt -> OpenAiServerTest.ANSWER, 4, WINDOW));
        server = OpenAiServer.start(
                Map.of("tiny", scripted, "endless", new TextGenerator(tokenizer, endless)),
                new OpenAiServer.Options("127.0.0.1", 0, null, 4, 64, 16, OpenAiServer.Options.defaultKvMemory()),
                LOG::add);
    }

    @AfterAll
    static void stop() {
        server.close();
        tokenizer.close();
    }

    @Test
    void aStreamingClientThatDisconnectsCancelsItsGeneration() throws Exception {
        String body = "{\"model\":\"endless\",\"prompt\":\"Go\",\"max_tokens\":2000000000,\"ignore_eos\":true,"
                + "\"stream\":true}";
        try (Socket socket = new Socket("127.0.0.1", server.port())) {
            OutputStream out = socket.getOutputStream();
            out.write(("POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                            + "Content-Length: " + body.getBytes(StandardCharsets.UTF_8).length + "\r\n\r\n" + body)
                    .getBytes(StandardCharsets.UTF_8));
            out.flush();
            BufferedReader in =
                    new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
            String line;
            do {
                line = in.readLine();
            } while (line != null && !line.startsWith("data: "));
            assertThat(line).as("the first streamed chunk").isNotNull();
        }
        // the client is gone: the generation stops instead of running to two billion tokens
        assertThat(endless.stopped.await(60, TimeUnit.SECONDS)).isTrue();
        HttpResponse<String> next = post(server, "/v1/completions", "{\"model\":\"tiny\",\"prompt\":\"Hi\"}");
        assertThat(next.statusCode()).isEqualTo(200);
    }

    @Test
    void promptsBeyondTheContextWindowAre400WithAReason() throws Exception {
        HttpResponse<String> tooLong = post(
                server,
                "/v1/completions",
                "{\"model\":\"tiny\",\"prompt\":\"" + "a b ".repeat(200) + "\",\"max_tokens\":4}");
        assertError(tooLong, 400, "context window of " + WINDOW + " tokens");
        HttpResponse<String> tooManyNew =
                post(server, "/v1/completions", "{\"model\":\"tiny\",\"prompt\":\"Hi\",\"max_tokens\":1000}");
        assertError(tooManyNew, 400, "1000 new tokens exceed");
        // without max_tokens the default length shrinks to what fits
        HttpResponse<String> chat = post(
                server,
                "/v1/chat/completions",
                "{\"model\":\"tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}");
        assertThat(chat.statusCode()).isEqualTo(200);
    }

    @Test
    void tooManyMessagesAndTooLargeBodiesAreRefusedAsJson() throws Exception {
        String message = "{\"role\":\"user\",\"content\":\"x\"},";
        String many = "{\"model\":\"tiny\",\"messages\":[" + message.repeat(OpenAiServer.MAX_MESSAGES)
                + "{\"role\":\"user\",\"content\":\"x\"}]}";
        assertError(post(server, "/v1/chat/completions", many), 400, "limit of " + OpenAiServer.MAX_MESSAGES);
        String huge = "{\"model\":\"tiny\",\"prompt\":\"" + "a".repeat(OpenAiServer.MAX_BODY_BYTES + 1) + "\"}";
        assertError(post(server, "/v1/completions", huge), 413, "larger than the limit");
    }

    @Test
    void everyMethodAndPathAnswersOpenAiJson() throws Exception {
        for (String method : List.of("PUT", "DELETE", "PATCH")) {
            assertError(send(method, "/v1/completions"), 405, "method " + method);
        }
        assertError(send("GET", "/v1/chat/completions"), 405, "method GET");
        assertError(send("GET", "/v1/nowhere"), 404, "no such endpoint");
        assertError(send("DELETE", "/nowhere"), 404, "no such endpoint");
        assertError(send("GET", "/v1/models/nosuch"), 404, "nosuch");
    }

    @Test
    void healthModelCardAndOneLogLinePerRequest() throws Exception {
        HttpResponse<String> health = send("GET", "/health");
        assertThat(health.statusCode()).isEqualTo(200);
        assertThat(json(health).path("status").asText()).isEqualTo("ok");
        JsonNode card = json(send("GET", "/v1/models/tiny"));
        assertThat(card.path("id").asText()).isEqualTo("tiny");
        assertThat(card.path("object").asText()).isEqualTo("model");
        assertThat(card.path("owned_by").asText()).isEqualTo("safemerge");
        assertThat(card.path("max_model_len").asInt()).isEqualTo(WINDOW);
        assertThat(card.has("created")).isTrue();

        HttpResponse<String> answer =
                post(server, "/v1/completions", "{\"model\":\"tiny\",\"prompt\":\"Log me\",\"max_tokens\":8}");
        String id = json(answer).path("id").asText().substring("cmpl-".length());
        int completionTokens =
                json(answer).path("usage").path("completion_tokens").asInt();
        assertThat(LOG)
                .anySatisfy(line -> assertThat(line)
                        .contains(id)
                        .contains("POST /v1/completions")
                        .contains("model=tiny")
                        .contains("completion_tokens=" + completionTokens)
                        .contains("time_ms=")
                        .contains("status=200"));
    }

    static HttpResponse<String> send(String method, String path) throws Exception {
        return CLIENT.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
                        .method(method, HttpRequest.BodyPublishers.noBody())
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }

    static void assertError(HttpResponse<String> response, int status, String message) throws Exception {
        assertThat(response.statusCode()).isEqualTo(status);
        assertThat(response.headers().firstValue("Content-Type").orElse("")).startsWith("application/json");
        JsonNode error = json(response).path("error");
        assertThat(error.path("message").asText()).contains(message);
        assertThat(error.path("type").asText()).isNotEmpty();
    }
}
