package dev.safemerge.safeguard;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.safemerge.eval.Json;
import dev.safemerge.eval.gen.GenerationRequest;
import dev.safemerge.eval.gen.InProcessGenerator;
import dev.safemerge.eval.gen.LocalModels;
import dev.safemerge.model.generate.Sampling;
import dev.safemerge.model.text.ChatMessage;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;

/**
 * A stand-in for a vLLM server with dynamic LoRA on 127.0.0.1:0: it serves one base model by name, loads and unloads
 * PEFT adapters through {@code /v1/load_lora_adapter} and {@code /v1/unload_lora_adapter}, and answers completions
 * with the in-process engine (so its answers are the engine's), recording every load, unload and request.
 */
final class ServedModelDouble implements AutoCloseable {
    private final HttpServer server;
    private final Path base;
    private final String name;
    private final Map<String, InProcessGenerator> loaded = new LinkedHashMap<>();
    final List<String> loads = Collections.synchronizedList(new ArrayList<>());
    final List<String> unloads = Collections.synchronizedList(new ArrayList<>());
    /** the model named by each completion request */
    final List<String> requests = Collections.synchronizedList(new ArrayList<>());

    ServedModelDouble(Path base, String name) throws IOException {
        this.base = base;
        this.name = name;
        loaded.put(name, LocalModels.open(base, null, 4, 1));
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        server.createContext("/v1/", this::handle);
        server.start();
    }

    String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            String path = exchange.getRequestURI().getPath();
            if (path.equals("/v1/models")) {
                ObjectNode body = Json.object();
                ArrayNode data = body.putArray("data");
                synchronized (this) {
                    loaded.keySet().forEach(id -> data.addObject().put("id", id));
                }
                send(exchange, 200, Json.line(body));
                return;
            }
            JsonNode body = Json.MAPPER.readTree(exchange.getRequestBody());
            switch (path) {
                case "/v1/load_lora_adapter" -> {
                    String lora = body.get("lora_name").asText();
                    synchronized (this) {
                        if (loaded.containsKey(lora)) {
                            send(
                                    exchange,
                                    400,
                                    "{\"error\": \"The lora adapter '" + lora + "' has already been loaded.\"}");
                            return;
                        }
                        loaded.put(
                                lora,
                                LocalModels.open(
                                        base, Path.of(body.get("lora_path").asText()), 4, 1));
                    }
                    loads.add(lora);
                    send(exchange, 200, "\"Success\"");
                }
                case "/v1/unload_lora_adapter" -> {
                    String lora = body.get("lora_name").asText();
                    InProcessGenerator generator;
                    synchronized (this) {
                        generator = loaded.remove(lora);
                    }
                    if (generator == null) {
                        send(exchange, 404, "{\"error\": \"not found\"}");
                        return;
                    }
                    generator.close();
                    unloads.add(lora);
                    send(exchange, 200, "\"Success\"");
                }
                case "/v1/chat/completions", "/v1/completions" -> complete(exchange, path, body);
                default -> send(exchange, 404, "{}");
            }
        }
    }

    private void complete(HttpExchange exchange, String path, JsonNode body) throws IOException {
        String model = body.get("model").asText();
        requests.add(model);
        InProcessGenerator generator;
        synchronized (this) {
            generator = loaded.get(model);
        }
        if (generator == null) {
            send(exchange, 404, "{\"error\": \"no such model\"}");
            return;
        }
        GenerationRequest request;
        boolean chat = path.endsWith("/chat/completions");
        if (chat) {
            List<ChatMessage> messages = new ArrayList<>();
            body.get("messages")
                    .forEach(m -> messages.add(new ChatMessage(
                            m.get("role").asText(), m.get("content").asText())));
            request = new GenerationRequest.Chat(messages);
        } else {
            request = new GenerationRequest.Raw(body.get("prompt").asText());
        }
        List<String> stop = new ArrayList<>();
        body.path("stop").forEach(s -> stop.add(s.asText()));
        Sampling params = Sampling.greedy(body.get("max_tokens").asInt())
                .withTemperature(body.get("temperature").asDouble())
                .withTopP(body.get("top_p").asDouble())
                .withTopK(body.path("top_k").asInt(0))
                .withRepetitionPenalty(body.path("repetition_penalty").asDouble(1.0))
                .withSeed(body.get("seed").asLong())
                .withStop(stop);
        String text;
        synchronized (generator) {
            text = generator.generateAll(List.of(request), params).getFirst();
        }
        ObjectNode response = Json.object();
        ObjectNode choice = response.putArray("choices").addObject();
        if (chat) {
            choice.putObject("message").put("role", "assistant").put("content", text);
        } else {
            choice.put("text", text);
        }
        send(exchange, 200, Json.line(response));
    }

    private static void send(HttpExchange exchange, int status, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().add("Content-Type", "application/json");
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    /** The adapters still loaded. */
    synchronized List<String> adapters() {
        return loaded.keySet().stream().filter(id -> !id.equals(name)).toList();
    }

    @Override
    public synchronized void close() {
        server.stop(0);
        loaded.values().forEach(InProcessGenerator::close);
    }
}
