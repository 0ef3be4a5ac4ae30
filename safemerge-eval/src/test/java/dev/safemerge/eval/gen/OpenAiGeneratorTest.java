package dev.safemerge.eval.gen;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.safemerge.eval.run.Protocol;
import dev.safemerge.model.text.ChatMessage;
import dev.safemerge.tensor.BadInputException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;

class OpenAiGeneratorTest {
    private static OpenAiGenerator generator(String url, int concurrency, Duration timeout, int attempts) {
        return new OpenAiGenerator(new OpenAiGenerator.Options(
                url,
                "test-model",
                "secret",
                concurrency,
                Duration.ofSeconds(2),
                timeout,
                attempts,
                Duration.ofMillis(10)));
    }

    private static GenerationRequest chat(String text) {
        return new GenerationRequest.Chat(List.of(ChatMessage.system("sys"), ChatMessage.user(text)));
    }

    @Test
    void chatAndRawRequestsUseTheirEndpointsAndCarryTheSamplingSettings() throws Exception {
        try (FakeOpenAiServer server = new FakeOpenAiServer()) {
            OpenAiGenerator gen = generator(server.url() + "/v1/", 2, Duration.ofSeconds(5), 1);
            List<String> out = gen.generateAll(
                    List.of(chat("hello"), new GenerationRequest.Raw("raw text")), Protocol.STUDY_SAMPLING);
            assertThat(out).containsExactly("echo: hello", "echo: raw text");
            assertThat(server.paths()).containsExactlyInAnyOrder("/v1/chat/completions", "/v1/completions");
            JsonNode chatBody = server.bodies().stream()
                    .filter(b -> b.has("messages"))
                    .findFirst()
                    .orElseThrow();
            assertThat(chatBody.get("model").asText()).isEqualTo("test-model");
            assertThat(chatBody.at("/messages/0/role").asText()).isEqualTo("system");
            assertThat(chatBody.get("max_tokens").asInt()).isEqualTo(512);
            assertThat(chatBody.get("temperature").asDouble()).isZero();
            assertThat(chatBody.get("repetition_penalty").asDouble()).isEqualTo(1.2);
            assertThat(chatBody.get("seed").asLong()).isEqualTo(42);
            assertThat(server.authorizations()).containsOnly("Bearer secret");
        }
    }

    @Test
    void stopStringsAreSentAndAlsoAppliedToTheAnswer() throws Exception {
        try (FakeOpenAiServer server = new FakeOpenAiServer()) {
            server.answer(body -> "step one\n\nQ: next question");
            List<String> out = generator(server.url(), 1, Duration.ofSeconds(5), 1)
                    .generateAll(
                            List.of(new GenerationRequest.Raw("x")), Protocol.STUDY_SAMPLING.withStop(List.of("\n\n")));
            assertThat(out).containsExactly("step one");
            assertThat(server.bodies().getFirst().get("stop").get(0).asText()).isEqualTo("\n\n");
        }
    }

    @Test
    void retries429And5xxWithBackoffThenSucceeds() throws Exception {
        try (FakeOpenAiServer server = new FakeOpenAiServer()) {
            server.then(429, "{\"error\":\"slow down\"}").then(503, "busy").then(500, "");
            List<String> out = generator(server.url(), 1, Duration.ofSeconds(5), 4)
                    .generateAll(List.of(chat("hi")), Protocol.STUDY_SAMPLING);
            assertThat(out).containsExactly("echo: hi");
            assertThat(server.bodies()).hasSize(4);
        }
    }

    @Test
    void givesUpAfterTheLastAttemptWithAOneLineError() throws Exception {
        try (FakeOpenAiServer server = new FakeOpenAiServer()) {
            server.then(500, "a").then(500, "b").then(500, "c");
            assertThatThrownBy(() -> generator(server.url(), 1, Duration.ofSeconds(5), 3)
                            .generateAll(List.of(chat("hi")), Protocol.STUDY_SAMPLING))
                    .isInstanceOf(BadInputException.class)
                    .hasMessageContaining("3 attempts")
                    .hasMessageContaining("HTTP 500");
            assertThat(server.bodies()).hasSize(3);
        }
    }

    @Test
    void aRequestThatTimesOutIsRetried() throws Exception {
        try (FakeOpenAiServer server = new FakeOpenAiServer()) {
            // The first request is never answered; the retry is answered at once, well within the timeout.
            server.thenNoAnswer();
            List<String> out = generator(server.url(), 1, Duration.ofSeconds(3), 3)
                    .generateAll(List.of(chat("late")), Protocol.STUDY_SAMPLING);
            assertThat(out).containsExactly("echo: late");
            assertThat(server.bodies()).hasSize(2);
        }
    }

    @Test
    void clientErrorsOtherThan429AreNotRetried() throws Exception {
        try (FakeOpenAiServer server = new FakeOpenAiServer()) {
            server.then(404, "{\"error\":\"model not found\"}");
            assertThatThrownBy(() -> generator(server.url(), 1, Duration.ofSeconds(5), 5)
                            .generateAll(List.of(chat("hi")), Protocol.STUDY_SAMPLING))
                    .isInstanceOf(BadInputException.class)
                    .hasMessageContaining("HTTP 404")
                    .hasMessageContaining("model not found");
            assertThat(server.bodies()).hasSize(1);
        }
    }

    @Test
    void nonJsonAndMissingChoicesAreClearErrors() throws Exception {
        try (FakeOpenAiServer server = new FakeOpenAiServer()) {
            server.then(200, "<html>gateway</html>").then(200, "{\"id\": 1}").then(200, "{\"choices\": []}");
            OpenAiGenerator gen = generator(server.url(), 1, Duration.ofSeconds(5), 3);
            assertThatThrownBy(() -> gen.generateAll(List.of(chat("a")), Protocol.STUDY_SAMPLING))
                    .isInstanceOf(BadInputException.class)
                    .hasMessageContaining("not JSON")
                    .hasMessageContaining("gateway");
            assertThatThrownBy(() -> gen.generateAll(List.of(chat("b")), Protocol.STUDY_SAMPLING))
                    .isInstanceOf(BadInputException.class)
                    .hasMessageContaining("choices[0].message.content");
            assertThatThrownBy(() -> gen.generateAll(List.of(new GenerationRequest.Raw("c")), Protocol.STUDY_SAMPLING))
                    .isInstanceOf(BadInputException.class)
                    .hasMessageContaining("choices[0].text");
        }
    }

    @Test
    void unreachableServerIsABadInputAfterRetries() throws Exception {
        // A port held by a bound socket that does not listen: connections are refused, and no other process can
        // take the port meanwhile (a port closed before use could be taken by anyone).
        try (Socket holder = new Socket()) {
            holder.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            int port = holder.getLocalPort();
            assertThatThrownBy(() -> generator("http://127.0.0.1:" + port, 1, Duration.ofSeconds(2), 3)
                            .generateAll(List.of(chat("hi")), Protocol.STUDY_SAMPLING))
                    .isInstanceOf(BadInputException.class)
                    .hasMessageContaining("did not answer after 3 attempts")
                    .hasMessageContaining("ConnectException");
        }
        assertThatThrownBy(() -> OpenAiGenerator.baseUrl("ftp://x")).isInstanceOf(BadInputException.class);
    }

    @Test
    void concurrencyIsLimitedAndResponsesKeepRequestOrder() throws Exception {
        try (FakeOpenAiServer server = new FakeOpenAiServer()) {
            server.holdUntilInFlight(3);
            List<GenerationRequest> requests = new ArrayList<>();
            for (int i = 0; i < 12; i++) {
                requests.add(chat("q" + i));
            }
            List<String> out =
                    generator(server.url(), 3, Duration.ofSeconds(5), 1).generateAll(requests, Protocol.STUDY_SAMPLING);
            for (int i = 0; i < 12; i++) {
                assertThat(out.get(i)).isEqualTo("echo: q" + i);
            }
            assertThat(server.maxInFlight()).isEqualTo(3);
        }
    }

    /**
     * A failure while another request is on the wire (here: the answer of q0 cannot be kept, as when the disk is full,
     * while q1 is held at the server): q1 is answered and its answer kept before the failure is rethrown, and no
     * request is left that the server sees after the run, so a resumed run asks exactly for what was not kept.
     */
    @Test
    void aFailureLetsTheRequestsOnTheWireFinishAndKeepsTheirAnswers() throws Exception {
        try (FakeOpenAiServer server = new FakeOpenAiServer()) {
            CountDownLatch q1AtServer = new CountDownLatch(1);
            CountDownLatch q1Released = new CountDownLatch(1);
            server.answer(body -> {
                if (body.toString().contains("\"q1\"")) {
                    q1AtServer.countDown();
                    awaitQuietly(q1Released);
                }
                return FakeOpenAiServer.echo(body);
            });
            List<GenerationRequest> requests = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                requests.add(chat("q" + i));
            }
            Map<Integer, String> kept = new ConcurrentHashMap<>();
            assertThatThrownBy(() -> generator(server.url(), 2, Duration.ofSeconds(30), 1)
                            .generate(requests, Protocol.STUDY_SAMPLING, (index, answer) -> {
                                if (index == 0) {
                                    awaitQuietly(q1AtServer);
                                    q1Released.countDown();
                                    throw new IllegalStateException("no space left to keep q0");
                                }
                                kept.put(index, answer);
                            }))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessage("no space left to keep q0");
            assertThat(kept).containsEntry(1, "echo: q1");
            assertThat(server.bodies())
                    .as("every request the server saw was answered and kept, but the one that failed")
                    .hasSize(kept.size() + 1);
        }
    }

    private static void awaitQuietly(CountDownLatch latch) {
        try {
            latch.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
