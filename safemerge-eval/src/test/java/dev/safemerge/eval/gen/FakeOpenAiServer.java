package dev.safemerge.eval.gen;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.safemerge.eval.Json;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * An OpenAI-compatible server for tests on 127.0.0.1:0. Scripted faults (status codes, garbage, a request that never
 * answers) are served first, in order; after that every request gets a completion computed from its body. Nothing
 * waits on the clock: requests are held at latches that the test or the server's own counts open.
 */
public final class FakeOpenAiServer implements AutoCloseable {
    /** A scripted answer: status and body, or (hang) no answer until the server closes. */
    public record Reply(int status, String body, boolean hang) {}

    private final HttpServer server;
    private final Deque<Reply> script = new ArrayDeque<>();
    private final List<JsonNode> bodies = Collections.synchronizedList(new ArrayList<>());
    private final List<String> paths = Collections.synchronizedList(new ArrayList<>());
    private final List<String> authorizations = Collections.synchronizedList(new ArrayList<>());
    private final AtomicInteger inFlight = new AtomicInteger();
    private final AtomicInteger maxInFlight = new AtomicInteger();
    private final CountDownLatch closed = new CountDownLatch(1);
    private volatile Function<JsonNode, String> answer = FakeOpenAiServer::echo;
    private volatile CountDownLatch firstWave = new CountDownLatch(0);

    public FakeOpenAiServer() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        server.createContext("/v1/", this::handle);
        server.start();
    }

    /** "echo: " + the last user message or the raw prompt. */
    public static String echo(JsonNode body) {
        if (body.has("messages")) {
            JsonNode messages = body.get("messages");
            return "echo: " + messages.get(messages.size() - 1).get("content").asText();
        }
        return "echo: " + body.get("prompt").asText();
    }

    public String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    public synchronized FakeOpenAiServer then(int status, String body) {
        script.add(new Reply(status, body, false));
        return this;
    }

    /** The next request gets no answer at all (until the server closes): the client has to time out. */
    public synchronized FakeOpenAiServer thenNoAnswer() {
        script.add(new Reply(-1, "", true));
        return this;
    }

    public void answer(Function<JsonNode, String> function) {
        this.answer = function;
    }

    /**
     * Holds the first {@code requests} requests until all of them are in flight at once, so that a client allowed that
     * many concurrent requests is seen reaching its limit however the threads are scheduled.
     */
    public void holdUntilInFlight(int requests) {
        this.firstWave = new CountDownLatch(requests);
    }

    public List<JsonNode> bodies() {
        return List.copyOf(bodies);
    }

    public List<String> paths() {
        return List.copyOf(paths);
    }

    public List<String> authorizations() {
        return List.copyOf(authorizations);
    }

    public int maxInFlight() {
        return maxInFlight.get();
    }

    private synchronized Reply next() {
        return script.poll();
    }

    private void handle(HttpExchange exchange) throws IOException {
        int now = inFlight.incrementAndGet();
        maxInFlight.accumulateAndGet(now, Math::max);
        // A request stops counting as in flight before its answer is sent: the client may send its next request as
        // soon as it has the answer, and must not be seen above its limit for that.
        AtomicBoolean counted = new AtomicBoolean(true);
        Runnable finished = () -> {
            if (counted.getAndSet(false)) {
                inFlight.decrementAndGet();
            }
        };
        try {
            JsonNode body = Json.MAPPER.readTree(exchange.getRequestBody());
            bodies.add(body);
            paths.add(exchange.getRequestURI().getPath());
            authorizations.add(exchange.getRequestHeaders().getFirst("Authorization"));
            Reply reply = next();
            if (reply != null && reply.hang()) {
                closed.await();
                return;
            }
            CountDownLatch wave = firstWave;
            wave.countDown();
            if (!wave.await(1, TimeUnit.MINUTES)) {
                throw new IllegalStateException("the client never had the expected requests in flight at once");
            }
            if (reply != null) {
                finished.run();
                send(exchange, reply.status(), reply.body());
                return;
            }
            String text = answer.apply(body);
            ObjectNode response = Json.object();
            ObjectNode choice = response.putArray("choices").addObject();
            if (exchange.getRequestURI().getPath().endsWith("/chat/completions")) {
                choice.putObject("message").put("role", "assistant").put("content", text);
            } else {
                choice.put("text", text);
            }
            finished.run();
            send(exchange, 200, Json.line(response));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException e) {
            // The client gave up (timeout); nothing to answer.
        } finally {
            finished.run();
            exchange.close();
        }
    }

    private static void send(HttpExchange exchange, int status, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().add("Content-Type", "application/json");
        exchange.sendResponseHeaders(status, bytes.length == 0 ? -1 : bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    @Override
    public void close() {
        closed.countDown();
        server.stop(0);
    }
}
