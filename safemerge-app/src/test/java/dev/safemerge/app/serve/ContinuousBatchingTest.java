package dev.safemerge.app.serve;

import static dev.safemerge.app.serve.OpenAiServerTest.JSON;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.safemerge.app.TextGenerationEndToEndTest;
import dev.safemerge.model.generate.Sampling;
import dev.safemerge.model.text.LoadedTextModel;
import dev.safemerge.model.text.TextGenerator;
import dev.safemerge.tensor.Progress;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Requests join a running batch at the decode step the test chooses (the scheduler's worker is held at that step
 * until the request is queued), over real HTTP on 127.0.0.1 with the inference engine on a tiny random Llama: every
 * greedy answer is the one the request gets alone.
 */
// a test that waits on the worker fails rather than stalling the suite if a step it waits for never comes
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ContinuousBatchingTest {
    @TempDir
    static Path dir;

    static LoadedTextModel model;

    /** HTTP/1.1 only: a client that tries HTTP/2 first holds back concurrent requests until the upgrade settles. */
    static final HttpClient CLIENT = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10))
            .build();

    @BeforeAll
    static void load() throws IOException {
        model = TinyLlamaServers.load(dir);
    }

    @AfterAll
    static void close() {
        model.close();
    }

    static OpenAiServer start(int maxQueued, long kvMemory) {
        return TinyLlamaServers.start(model.generator(), null, maxQueued, kvMemory);
    }

    static ObjectNode request(String prompt, int maxTokens, boolean stream) {
        ObjectNode body = JSON.createObjectNode()
                .put("model", "tiny")
                .put("prompt", prompt)
                .put("max_tokens", maxTokens)
                .put("temperature", 0)
                .put("seed", 5)
                .put("stream", stream);
        return body;
    }

    static CompletableFuture<HttpResponse<String>> send(OpenAiServer server, JsonNode body) {
        return CLIENT.sendAsync(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/v1/completions"))
                        .timeout(Duration.ofSeconds(120))
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(body.toString()))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** Text and finish reason of a completion, plain or streamed. */
    record Answer(String text, String finishReason, int completionTokens) {}

    static Answer answer(HttpResponse<String> response, boolean stream) throws IOException {
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        if (!stream) {
            JsonNode body = JSON.readTree(response.body());
            JsonNode choice = body.path("choices").get(0);
            return new Answer(
                    choice.path("text").asText(),
                    choice.path("finish_reason").asText(),
                    body.path("usage").path("completion_tokens").asInt());
        }
        StringBuilder text = new StringBuilder();
        String finish = null;
        int completionTokens = -1;
        List<String> events = List.of(response.body().split("\n\n"));
        assertThat(events.getLast()).isEqualTo("data: [DONE]");
        for (String event : events.subList(0, events.size() - 1)) {
            JsonNode chunk = JSON.readTree(event.substring("data: ".length()));
            if (chunk.has("usage")) {
                completionTokens = chunk.path("usage").path("completion_tokens").asInt();
            }
            for (JsonNode choice : chunk.path("choices")) {
                text.append(choice.path("text").asText());
                if (!choice.path("finish_reason").isNull()) {
                    finish = choice.path("finish_reason").asText();
                }
            }
        }
        return new Answer(text.toString(), finish, completionTokens);
    }

    static Answer alone(OpenAiServer server, ObjectNode body) throws Exception {
        boolean stream = body.path("stream").asBoolean();
        return answer(send(server, body).get(), stream);
    }

    static JsonNode metrics(OpenAiServer server) throws Exception {
        return JSON.readTree(CLIENT.send(
                        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/metrics"))
                                .build(),
                        HttpResponse.BodyHandlers.ofString())
                .body());
    }

    /** Holds the worker before its next step until {@code count} requests are queued (they join at that step). */
    static void awaitQueued(OpenAiServer server, int count) {
        try {
            server.scheduler().awaitQueued(count);
        } catch (InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void requestsJoinTheRunningBatchAtChosenStepsAndAnswerAsAlone() throws Exception {
        try (OpenAiServer server = start(64, OpenAiServer.Options.defaultKvMemory())) {
            int staggered = 12;
            int together = 40;
            ObjectNode first = request("The capital of France is", 60, false);
            List<ObjectNode> joiners = new ArrayList<>();
            for (int k = 0; k < staggered + together; k++) {
                ObjectNode body =
                        request("Request " + k + " asks about the number " + (k * 7), 2 + (k * 5) % 17, k % 2 == 1);
                joiners.add(body);
            }
            // stop strings taken from each answer's own text, so that they end it early
            for (int k = 0; k < joiners.size(); k += 4) {
                String text = alone(server, joiners.get(k)).text();
                if (text.length() >= 6) {
                    joiners.get(k).put("stop", text.substring(text.length() / 2, text.length() / 2 + 2));
                }
            }
            Answer firstAlone = alone(server, first);
            assertThat(firstAlone.finishReason())
                    .as("the first request runs past every join")
                    .isEqualTo("length");
            List<Answer> expected = new ArrayList<>();
            for (ObjectNode body : joiners) {
                expected.add(alone(server, body));
            }
            assertThat(expected.stream().filter(a -> a.finishReason().equals("stop")))
                    .isNotEmpty();
            assertThat(expected.stream().filter(a -> a.finishReason().equals("length")))
                    .isNotEmpty();
            JsonNode before = metrics(server);

            List<CountDownLatch> reached = new ArrayList<>();
            for (int k = 0; k <= staggered + 1; k++) {
                reached.add(new CountDownLatch(1));
            }
            server.scheduler().setStepHook(step -> {
                if (step >= 1 && step <= staggered + 1) {
                    reached.get((int) step).countDown();
                    awaitQueued(server, step <= staggered ? 1 : together);
                }
            });
            CompletableFuture<HttpResponse<String>> firstResponse = send(server, first);
            List<CompletableFuture<HttpResponse<String>>> responses = new ArrayList<>();
            for (int k = 0; k < staggered; k++) {
                reached.get(k + 1).await();
                responses.add(send(server, joiners.get(k)));
            }
            reached.get(staggered + 1).await();
            for (int k = staggered; k < joiners.size(); k++) {
                responses.add(send(server, joiners.get(k)));
            }

            assertThat(answer(firstResponse.get(), false)).isEqualTo(firstAlone);
            for (int k = 0; k < joiners.size(); k++) {
                assertThat(answer(responses.get(k).get(), k % 2 == 1))
                        .as("request %d", k)
                        .isEqualTo(expected.get(k));
            }
            JsonNode after = metrics(server);
            // one batch served them all, each joiner while the first request still ran
            assertThat(after.path("batches").asLong() - before.path("batches").asLong())
                    .isEqualTo(1);
            assertThat(after.path("sequences_joined_running_batch").asLong()
                            - before.path("sequences_joined_running_batch").asLong())
                    .isEqualTo(joiners.size());
            assertThat(after.path("kv_reserved_bytes").asLong()).isZero();
            assertThat(after.path("sequences_running").asInt()).isZero();
        }
    }

    /**
     * A batch stays open for one step after its last answer, to admit what arrived meanwhile. A hook installed in that
     * moment, followed by a request, must still see the request's own batch from step 0: tests that hold the worker at
     * "step 1" would otherwise wait forever for a step the old batch already passed.
     */
    @Test
    void aStepHookInstalledAsABatchClosesCountsFromTheNextBatch() throws Exception {
        TextGenerator generator = model.generator();
        int[] prompt = generator.promptIds("The capital of France is");
        try (GenerationScheduler scheduler = new GenerationScheduler(64, 64, OpenAiServer.Options.defaultKvMemory())) {
            AtomicReference<CompletableFuture<List<TextGenerator.Completion>>> first = new AtomicReference<>();
            CountDownLatch afterLastAnswer = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            // the worker can finish all six tokens before the test stores the request's future: each step waits for it
            CountDownLatch stored = new CountDownLatch(1);
            scheduler.setStepHook(step -> {
                try {
                    stored.await();
                    // the step after the answer was sent: the batch's last look for joiners
                    if (first.get().isDone()) {
                        afterLastAnswer.countDown();
                        release.await();
                    }
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            });
            first.set(greedy(scheduler, generator, prompt, 6));
            stored.countDown();
            afterLastAnswer.await();

            List<Long> seen = Collections.synchronizedList(new ArrayList<>());
            AtomicReference<CompletableFuture<List<TextGenerator.Completion>>> second = new AtomicReference<>();
            Thread installer = Thread.ofPlatform().start(() -> {
                try {
                    scheduler.setStepHook(seen::add);
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
                second.set(greedy(scheduler, generator, prompt, 3));
            });
            // the installer either waits for the open batch to close or, if it does not wait, has already sent its
            // request
            while (installer.getState() != Thread.State.WAITING && installer.isAlive()) {
                Thread.onSpinWait();
            }
            release.countDown();
            installer.join();
            second.get().get();

            assertThat(seen).as("steps the second request's batch went through").startsWith(0L, 1L);
            assertThat(scheduler.stats().batches()).isEqualTo(2);
            assertThat(scheduler.stats().joinedRunningBatch()).isZero();
        }
    }

    /** One greedy prompt of {@code maxNewTokens}, submitted to the scheduler as a request would be. */
    static CompletableFuture<List<TextGenerator.Completion>> greedy(
            GenerationScheduler scheduler, TextGenerator generator, int[] prompt, int maxNewTokens) {
        return scheduler.submit(
                generator,
                null,
                List.of(prompt),
                Sampling.greedy(maxNewTokens),
                false,
                TextGenerator.TextListener.NONE,
                () -> false);
    }

    static long kvBytes(ObjectNode body) {
        int prompt = model.generator().promptIds(body.path("prompt").asText()).length;
        // the tiny Llama has no sliding window: every position of every layer is kept
        return 2L * Float.BYTES * 2 * 32 * (prompt + body.path("max_tokens").asInt());
    }

    @Test
    void aPromptLargerThanTheWholeKvBudgetIsRefusedWith400() throws Exception {
        ObjectNode small = request("The capital of France is", 10, false);
        ObjectNode large = request("The capital of France is", 40, false);
        try (OpenAiServer server = start(64, kvBytes(small) + 1)) {
            HttpResponse<String> refused = send(server, large).get();
            assertThat(refused.statusCode()).isEqualTo(400);
            JsonNode error = JSON.readTree(refused.body()).path("error");
            assertThat(error.path("type").asText()).isEqualTo("invalid_request_error");
            assertThat(error.path("message").asText())
                    .contains(kvBytes(large) + " bytes of KV cache")
                    .contains("KV budget of " + (kvBytes(small) + 1) + " bytes");
            assertThat(send(server, small).get().statusCode()).isEqualTo(200);
        }
    }

    @Test
    void aPromptWaitsUntilItsKvCacheFitsThenAnswersAsAlone() throws Exception {
        ObjectNode first = request("The capital of France is", 12, false);
        ObjectNode second = request("Another question", 9, true);
        long budget = kvBytes(first) + kvBytes(second) - 1;
        try (OpenAiServer server = start(64, budget)) {
            Answer firstAlone = alone(server, first);
            Answer secondAlone = alone(server, second);
            assertThat(firstAlone.finishReason()).isEqualTo("length");
            JsonNode before = metrics(server);
            List<GenerationScheduler.Stats> held = new ArrayList<>();
            CountDownLatch firstRunning = new CountDownLatch(1);
            server.scheduler().setStepHook(step -> {
                if (step == 1) {
                    firstRunning.countDown();
                    awaitQueued(server, 1);
                } else if (step == 2) {
                    held.add(server.scheduler().stats());
                }
            });
            CompletableFuture<HttpResponse<String>> firstResponse = send(server, first);
            firstRunning.await();
            CompletableFuture<HttpResponse<String>> secondResponse = send(server, second);
            assertThat(answer(firstResponse.get(), false)).isEqualTo(firstAlone);
            assertThat(answer(secondResponse.get(), true)).isEqualTo(secondAlone);
            // at step 2 the second prompt had arrived, a batch slot was free, and it still waited for memory
            assertThat(held).hasSize(1);
            assertThat(held.getFirst().running()).isEqualTo(1);
            assertThat(held.getFirst().queued()).isEqualTo(1);
            assertThat(held.getFirst().kvReservedBytes()).isEqualTo(kvBytes(first));
            JsonNode after = metrics(server);
            assertThat(after.path("sequences_joined_running_batch").asLong())
                    .isEqualTo(before.path("sequences_joined_running_batch").asLong());
            assertThat(after.path("sequences_admitted").asLong()
                            - before.path("sequences_admitted").asLong())
                    .isEqualTo(2);
            assertThat(after.path("kv_reserved_bytes").asLong()).isZero();
            assertThat(after.path("kv_budget_bytes").asLong()).isEqualTo(budget);
            assertThat(after.path("kv_bytes_per_token").path("tiny").asLong()).isEqualTo(2L * Float.BYTES * 2 * 32);
        }
    }

    @Test
    void aFullQueueAnswers429WithAnOpenAiError() throws Exception {
        try (OpenAiServer server = start(1, OpenAiServer.Options.defaultKvMemory())) {
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
            ObjectNode body = request("The capital of France is", 5, false);
            CompletableFuture<HttpResponse<String>> first = send(server, body);
            running.await();
            CompletableFuture<HttpResponse<String>> queued = send(server, body);
            server.scheduler().awaitQueued(1);
            HttpResponse<String> refused = send(server, body).get();
            release.countDown();
            assertThat(refused.statusCode()).isEqualTo(429);
            JsonNode error = JSON.readTree(refused.body()).path("error");
            assertThat(error.path("type").asText()).isEqualTo("rate_limit_error");
            assertThat(error.path("code").asText()).isEqualTo("queue_full");
            assertThat(first.get().statusCode()).isEqualTo(200);
            assertThat(queued.get().statusCode()).isEqualTo(200);
        }
    }

    @Test
    void aSeededSampledRequestJoinsMidBatchAmongOtherSettingsAndAnswersAsAlone() throws Exception {
        try (OpenAiServer server = start(64, OpenAiServer.Options.defaultKvMemory())) {
            ObjectNode greedy = request("The capital of France is", 40, false);
            ObjectNode sampled = request("Tell me about the sea", 24, false)
                    .put("temperature", 0.9)
                    .put("top_p", 0.95)
                    .put("seed", 1234);
            ObjectNode hot = request("Another prompt", 20, true)
                    .put("temperature", 1.5)
                    .put("top_k", 7)
                    .put("seed", 99)
                    .put("ignore_eos", true);
            ObjectNode greedyPastEos = request("A third prompt", 18, false).put("ignore_eos", true);
            Answer greedyAlone = alone(server, greedy);
            assertThat(greedyAlone.finishReason())
                    .as("the greedy request runs past every join")
                    .isEqualTo("length");
            Answer sampledAlone = alone(server, sampled);
            Answer hotAlone = alone(server, hot);
            Answer greedyPastEosAlone = alone(server, greedyPastEos);
            // the sampled answer follows its seed, so the comparison below would see a sampler that ran differently
            assertThat(alone(server, sampled.deepCopy().put("seed", 1235))).isNotEqualTo(sampledAlone);
            JsonNode before = metrics(server);

            CountDownLatch atStep2 = new CountDownLatch(1);
            CountDownLatch atStep5 = new CountDownLatch(1);
            server.scheduler().setStepHook(step -> {
                if (step == 2) {
                    atStep2.countDown();
                    awaitQueued(server, 1);
                } else if (step == 5) {
                    atStep5.countDown();
                    awaitQueued(server, 2);
                }
            });
            CompletableFuture<HttpResponse<String>> greedyResponse = send(server, greedy);
            atStep2.await();
            CompletableFuture<HttpResponse<String>> sampledResponse = send(server, sampled);
            atStep5.await();
            CompletableFuture<HttpResponse<String>> hotResponse = send(server, hot);
            CompletableFuture<HttpResponse<String>> greedyPastEosResponse = send(server, greedyPastEos);

            assertThat(answer(greedyResponse.get(), false)).isEqualTo(greedyAlone);
            assertThat(answer(sampledResponse.get(), false)).isEqualTo(sampledAlone);
            assertThat(answer(hotResponse.get(), true)).isEqualTo(hotAlone);
            assertThat(answer(greedyPastEosResponse.get(), false)).isEqualTo(greedyPastEosAlone);
            JsonNode after = metrics(server);
            // one batch, which the three requests of other settings joined while the greedy one ran
            assertThat(after.path("batches").asLong() - before.path("batches").asLong())
                    .isEqualTo(1);
            assertThat(after.path("sequences_joined_running_batch").asLong()
                            - before.path("sequences_joined_running_batch").asLong())
                    .isEqualTo(3);
        }
    }

    @Test
    void slidingWindowLayersReserveOnlyTheirWindowSoRequestsBeyondItShareTheBudget(@TempDir Path own) throws Exception {
        // the tiny Llama's weights as a Mistral with a window of 16: both layers keep at most 16 positions
        Path mistral = TextGenerationEndToEndTest.writeTinyLlama(own.resolve("tiny-mistral"));
        Path config = mistral.resolve("config.json");
        Files.writeString(
                config,
                Files.readString(config)
                        .replace("\"LlamaForCausalLM\"", "\"MistralForCausalLM\"")
                        .replace("\"model_type\":\"llama\"", "\"model_type\":\"mistral\",\"sliding_window\":16"));
        long row = 2L * Float.BYTES * 2 * 32; // a key and a value row of each of the two layers
        long windowed = 16 * row;
        try (LoadedTextModel windowedModel = LoadedTextModel.open(mistral, (Path) null, 64, Progress.SILENT);
                OpenAiServer server = TinyLlamaServers.start(windowedModel.generator(), null, 64, 2 * windowed)) {
            ObjectNode first = request("The capital of France is", 40, false);
            ObjectNode second = request("Another question", 30, true);
            int firstPrompt = windowedModel.generator().promptIds("The capital of France is").length;
            // kept whole, one request alone would not fit the budget of two windows
            assertThat((firstPrompt + 40) * row).isGreaterThan(2 * windowed);
            Answer firstAlone = alone(server, first);
            assertThat(firstAlone.finishReason()).isEqualTo("length");
            Answer secondAlone = alone(server, second);
            JsonNode before = metrics(server);
            assertThat(before.path("kv_bytes_per_token").path("tiny").asLong()).isEqualTo(row);
            assertThat(before.path("kv_bytes_per_sequence").path("tiny").asLong())
                    .isEqualTo(windowed);

            CountDownLatch atStep2 = new CountDownLatch(1);
            List<GenerationScheduler.Stats> atJoin = new ArrayList<>();
            server.scheduler().setStepHook(step -> {
                if (step == 2) {
                    atStep2.countDown();
                    awaitQueued(server, 1);
                } else if (step == 3) {
                    atJoin.add(server.scheduler().stats());
                }
            });
            CompletableFuture<HttpResponse<String>> firstResponse = send(server, first);
            atStep2.await();
            CompletableFuture<HttpResponse<String>> secondResponse = send(server, second);
            assertThat(answer(firstResponse.get(), false)).isEqualTo(firstAlone);
            assertThat(answer(secondResponse.get(), true)).isEqualTo(secondAlone);
            // both ran at once, each reserving its window's worth
            assertThat(atJoin.getFirst().running()).isEqualTo(2);
            assertThat(atJoin.getFirst().kvReservedBytes()).isEqualTo(2 * windowed);
            JsonNode after = metrics(server);
            assertThat(after.path("sequences_joined_running_batch").asLong()
                            - before.path("sequences_joined_running_batch").asLong())
                    .isEqualTo(1);
        }
    }

    @Test
    void aNonStreamingClientThatDisconnectsLeavesTheBatch() throws Exception {
        try (OpenAiServer server = start(64, OpenAiServer.Options.defaultKvMemory())) {
            int maxTokens = 400;
            ObjectNode body =
                    request("The capital of France is", maxTokens, false).put("ignore_eos", true);
            CountDownLatch running = new CountDownLatch(1);
            CountDownLatch disconnected = new CountDownLatch(1);
            long[] lastStep = {-1};
            server.scheduler().setStepHook(step -> {
                lastStep[0] = step;
                if (step == 1) {
                    running.countDown();
                    try {
                        disconnected.await();
                    } catch (InterruptedException e) {
                        throw new IllegalStateException(e);
                    }
                }
            });
            JsonNode before = metrics(server);
            try (Socket socket = new Socket("127.0.0.1", server.port())) {
                byte[] json = body.toString().getBytes(StandardCharsets.UTF_8);
                OutputStream out = socket.getOutputStream();
                out.write(("POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                                + "Content-Length: " + json.length + "\r\n\r\n")
                        .getBytes(StandardCharsets.US_ASCII));
                out.write(json);
                out.flush();
                running.await();
            }
            disconnected.countDown();
            server.scheduler().awaitIdle();
            JsonNode after = metrics(server);
            // the sequence left within a few tokens of the close, hundreds of steps before its max_tokens; whether the
            // server sees the close before step 2 runs or a step or two later is the I/O thread's timing, so the last
            // step may be 1 (held until the close) or a little more
            assertThat(after.path("sequences_running").asInt()).isZero();
            assertThat(after.path("decode_steps").asLong()
                            - before.path("decode_steps").asLong())
                    .isLessThan(maxTokens / 2);
            assertThat(lastStep[0]).isBetween(1L, (long) maxTokens / 2);
        }
    }
}
