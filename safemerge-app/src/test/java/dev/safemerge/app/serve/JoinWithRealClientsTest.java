package dev.safemerge.app.serve;

import static dev.safemerge.app.serve.OpenAiServerTest.JSON;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.safemerge.model.text.LoadedTextModel;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * curl and the official {@code openai} clients, the npm package (src/test/node/openai_completion.mjs, installed as
 * {@link OpenAiClientCompatibilityTest#openaiModules} does) and the Python package, join a running batch and meet a
 * full queue. The Python client runs from the interpreter named by SAFEMERGE_OPENAI_PYTHON, else /tmp/openai-venv/bin/python (made with
 * {@code python3 -m venv /tmp/openai-venv && /tmp/openai-venv/bin/pip install openai}); each test is skipped, with a
 * message, where its client is missing.
 */
// a test that waits on the worker fails rather than stalling the suite if a step it waits for never comes
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class JoinWithRealClientsTest {
    @TempDir
    static Path dir;

    static LoadedTextModel model;

    @BeforeAll
    static void load() throws IOException {
        model = TinyLlamaServers.load(dir);
    }

    @AfterAll
    static void close() {
        model.close();
    }

    static OpenAiServer start(int maxQueued) {
        return TinyLlamaServers.start(model.generator(), null, maxQueued);
    }

    static String run(List<String> command) throws IOException, InterruptedException {
        return run(command, Map.of());
    }

    static String run(List<String> command, Map<String, String> environment) throws IOException, InterruptedException {
        ProcessBuilder builder = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD);
        builder.environment().putAll(environment);
        Process process = builder.start();
        String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(5, TimeUnit.MINUTES)).isTrue();
        assertThat(process.exitValue())
                .as(String.join(" ", command) + "\n" + out)
                .isZero();
        return out;
    }

    static String python() {
        String configured = System.getenv("SAFEMERGE_OPENAI_PYTHON");
        String python = configured != null ? configured : "/tmp/openai-venv/bin/python";
        assumeTrue(
                OpenAiClientCompatibilityTest.available(python, "-c", "import openai"),
                "the openai Python package is not importable from " + python
                        + " (set SAFEMERGE_OPENAI_PYTHON to an interpreter that has it)");
        return python;
    }

    /** Prints the completion's text and finish reason as JSON, or the HTTP status and error of a refusal. */
    static final String OPENAI_SCRIPT = """
            import json, sys
            import openai
            client = openai.OpenAI(base_url=sys.argv[1], api_key="unused", max_retries=0)
            request = json.loads(sys.argv[2])
            try:
                c = client.completions.create(model=request["model"], prompt=request["prompt"],
                    max_tokens=request["max_tokens"], temperature=0, seed=request["seed"])
                print(json.dumps({"status": 200, "text": c.choices[0].text,
                                  "finish_reason": c.choices[0].finish_reason}))
            except openai.APIStatusError as e:
                print(json.dumps({"status": e.status_code, "code": e.body.get("code") if isinstance(e.body, dict) else None}))
            """;

    static Function<ObjectNode, JsonNode> openaiClient(OpenAiServer server, String python) throws IOException {
        Path script = dir.resolve("client.py");
        Files.writeString(script, OPENAI_SCRIPT);
        return body -> {
            try {
                return JSON.readTree(run(List.of(
                        python, script.toString(), "http://127.0.0.1:" + server.port() + "/v1", body.toString())));
            } catch (IOException | InterruptedException e) {
                throw new IllegalStateException(e);
            }
        };
    }

    /** The openai npm package, one node process per request. */
    static Function<ObjectNode, JsonNode> openaiNodeClient(OpenAiServer server)
            throws IOException, InterruptedException {
        assumeTrue(
                OpenAiClientCompatibilityTest.available("node", "--version")
                        && OpenAiClientCompatibilityTest.available("npm", "--version"),
                "node and npm are not installed: skipping the test with the openai npm package");
        Map<String, String> environment = Map.of(
                "NODE_PATH", OpenAiClientCompatibilityTest.openaiModules().toString());
        Path script = Path.of("src/test/node/openai_completion.mjs").toAbsolutePath();
        return body -> {
            try {
                return JSON.readTree(run(
                        List.of(
                                "node",
                                script.toString(),
                                "http://127.0.0.1:" + server.port() + "/v1",
                                body.toString()),
                        environment));
            } catch (IOException | InterruptedException e) {
                throw new IllegalStateException(e);
            }
        };
    }

    static Function<ObjectNode, JsonNode> curl(OpenAiServer server) {
        assumeTrue(OpenAiClientCompatibilityTest.available("curl", "--version"), "curl is not installed");
        return body -> {
            try {
                String out = run(List.of(
                        "curl",
                        "-sS",
                        "-w",
                        "\n%{http_code}",
                        "-H",
                        "Content-Type: application/json",
                        "-d",
                        body.toString(),
                        "http://127.0.0.1:" + server.port() + "/v1/completions"));
                int cut = out.lastIndexOf('\n');
                JsonNode response = JSON.readTree(out.substring(0, cut));
                ObjectNode result = JSON.createObjectNode().put("status", Integer.parseInt(out.substring(cut + 1)));
                if (response.has("error")) {
                    return result.put(
                            "code", response.path("error").path("code").asText());
                }
                JsonNode choice = response.path("choices").get(0);
                return result.put("text", choice.path("text").asText())
                        .put("finish_reason", choice.path("finish_reason").asText());
            } catch (IOException | InterruptedException e) {
                throw new IllegalStateException(e);
            }
        };
    }

    /** The client's request joins a batch at step 1 while a longer request runs, and answers as it does alone. */
    static void joinsMidBatch(OpenAiServer server, Function<ObjectNode, JsonNode> client) throws Exception {
        ObjectNode running = ContinuousBatchingTest.request("The capital of France is", 30, false);
        ObjectNode joining = ContinuousBatchingTest.request("A client joins", 8, false);
        JsonNode alone = client.apply(joining);
        assertThat(alone.path("status").asInt()).isEqualTo(200);
        JsonNode before = ContinuousBatchingTest.metrics(server);
        CountDownLatch firstRunning = new CountDownLatch(1);
        server.scheduler().setStepHook(step -> {
            if (step == 1) {
                firstRunning.countDown();
                ContinuousBatchingTest.awaitQueued(server, 1);
            }
        });
        CompletableFuture<HttpResponse<String>> first = ContinuousBatchingTest.send(server, running);
        firstRunning.await();
        JsonNode joined = client.apply(joining);
        assertThat(first.get().statusCode()).isEqualTo(200);
        assertThat(joined).isEqualTo(alone);
        JsonNode after = ContinuousBatchingTest.metrics(server);
        assertThat(after.path("sequences_joined_running_batch").asLong()
                        - before.path("sequences_joined_running_batch").asLong())
                .isEqualTo(1);
        server.scheduler().setStepHook(step -> {});
    }

    /** With the worker held and one prompt queued, the client's request meets a full queue: 429, queue_full. */
    static void meetsAFullQueue(OpenAiServer server, Function<ObjectNode, JsonNode> client) throws Exception {
        CountDownLatch running = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        server.scheduler().setStepHook(step -> {
            if (step == 1) {
                running.countDown();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            }
        });
        ObjectNode body = ContinuousBatchingTest.request("The capital of France is", 4, false);
        List<CompletableFuture<HttpResponse<String>>> accepted = new ArrayList<>();
        accepted.add(ContinuousBatchingTest.send(server, body));
        running.await();
        accepted.add(ContinuousBatchingTest.send(server, body));
        server.scheduler().awaitQueued(1);
        JsonNode refused;
        try {
            refused = client.apply(body);
        } finally {
            release.countDown();
        }
        assertThat(refused.path("status").asInt()).isEqualTo(429);
        assertThat(refused.path("code").asText()).isEqualTo("queue_full");
        for (CompletableFuture<HttpResponse<String>> response : accepted) {
            assertThat(response.get().statusCode()).isEqualTo(200);
        }
        server.scheduler().setStepHook(step -> {});
    }

    @Test
    void curlJoinsARunningBatch() throws Exception {
        try (OpenAiServer server = start(64)) {
            joinsMidBatch(server, curl(server));
        }
    }

    @Test
    void curlMeetsAFullQueue() throws Exception {
        try (OpenAiServer server = start(1)) {
            meetsAFullQueue(server, curl(server));
        }
    }

    @Test
    void theOpenaiNodeClientJoinsARunningBatch() throws Exception {
        try (OpenAiServer server = start(64)) {
            joinsMidBatch(server, openaiNodeClient(server));
        }
    }

    @Test
    void theOpenaiNodeClientMeetsAFullQueue() throws Exception {
        try (OpenAiServer server = start(1)) {
            meetsAFullQueue(server, openaiNodeClient(server));
        }
    }

    @Test
    void theOpenaiPythonClientJoinsARunningBatch() throws Exception {
        String python = python();
        try (OpenAiServer server = start(64)) {
            joinsMidBatch(server, openaiClient(server, python));
        }
    }

    @Test
    void theOpenaiPythonClientMeetsAFullQueue() throws Exception {
        String python = python();
        try (OpenAiServer server = start(1)) {
            meetsAFullQueue(server, openaiClient(server, python));
        }
    }
}
