package dev.safemerge.app.serve;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeType;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.safemerge.model.Adapter;
import dev.safemerge.model.generate.Sampling;
import dev.safemerge.model.generate.ScaledAdapter;
import dev.safemerge.model.text.TextGenerator;
import dev.safemerge.tensor.BadInputException;
import dev.safemerge.tensor.JsonMappers;
import io.javalin.Javalin;
import io.javalin.compression.CompressionStrategy;
import io.javalin.http.Context;
import io.javalin.http.HttpResponseException;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BiFunction;
import java.util.function.Consumer;
import java.util.function.Function;
import org.eclipse.jetty.ee10.servlet.ServletContextRequest;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.util.BufferUtil;

/**
 * An OpenAI-compatible HTTP server over local models: {@code GET /v1/models}, {@code GET /v1/models/{id}},
 * {@code POST /v1/completions} and {@code POST /v1/chat/completions}, plain or streamed as server-sent events ending
 * in {@code data: [DONE]}, and {@code GET /health}. The request's {@code model} picks one of the served models (a
 * base model or a LoRA adapter over it, loaded with vLLM's {@code POST /v1/load_lora_adapter} and removed with
 * {@code POST /v1/unload_lora_adapter}; every adapter shares the base's one copy of the weights and requests for
 * different adapters share engine batches). Every error, for every path and method, is OpenAI-style JSON: 400 malformed
 * request or prompt beyond the context window, 401 wrong API key, 404 unknown model or path, 405 wrong method, 413
 * body over {@link #MAX_BODY_BYTES}, 429 queue full. {@code GET /metrics} reports the batch and KV memory counters.
 * Requests join the running batch at its next decode step, when their worst-case KV cache fits (see
 * {@link GenerationScheduler}). A client that goes away cancels its generation: a streaming one when a write fails, a
 * waiting non-streaming one at the next token, when a read of its connection finds the end of the stream.
 */
public final class OpenAiServer implements AutoCloseable {
    /** Largest request body accepted; larger bodies get 413 before they are read. */
    public static final int MAX_BODY_BYTES = 1 << 20;

    /** Most messages in one chat request. */
    public static final int MAX_MESSAGES = 1000;

    private static final ObjectMapper JSON = JsonMappers.plain();
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final String REQUEST_ID = "request-id";
    private static final String REQUEST_MODEL = "request-model";
    private static final String REQUEST_USAGE = "request-usage";

    /**
     * @param host address to bind (127.0.0.1 unless the user asks otherwise)
     * @param port TCP port, 0 for any free one
     * @param apiKey required bearer token, or null for none
     * @param maxBatch most prompts per engine batch
     * @param maxQueued most prompts waiting; beyond that requests get 429
     * @param defaultMaxTokens chat completion length when the request gives none
     * @param kvMemoryBytes KV cache bytes all running prompts may need together at worst (prompt plus max_tokens
     *     positions each); a prompt joins the batch only when it fits, a prompt larger than all of it gets 400
     */
    public record Options(
            String host,
            int port,
            String apiKey,
            int maxBatch,
            int maxQueued,
            int defaultMaxTokens,
            long kvMemoryBytes) {
        public Options {
            if (kvMemoryBytes < 1) {
                throw new BadInputException("the KV memory budget must be > 0 bytes, got " + kvMemoryBytes);
            }
        }

        /**
         * Half of the heap not in use now (call it after the models are loaded): the other half stays for
         * activations, logits and requests in flight.
         */
        public static long defaultKvMemory() {
            Runtime runtime = Runtime.getRuntime();
            return Math.max(1, (runtime.maxMemory() - (runtime.totalMemory() - runtime.freeMemory())) / 2);
        }
    }

    /**
     * LoRA adapters over one served base model, loaded at run time with vLLM's API
     * ({@code POST /v1/load_lora_adapter}, {@code POST /v1/unload_lora_adapter}) and requested by their name.
     *
     * @param baseModel the served name of the model they adapt
     * @param loader reads an adapter against that model ({@code Model::loadAdapter}); its weights are shared
     * @param maxLoras most adapters loaded at once; more are refused with 400
     */
    public record DynamicLora(String baseModel, Function<Path, Adapter> loader, int maxLoras) {}

    private final Map<String, TextGenerator> models;
    private final Options options;
    private final GenerationScheduler scheduler;
    private final LoraAdapters loras;
    private final Javalin app;
    private final long started = System.currentTimeMillis() / 1000;

    private OpenAiServer(
            Map<String, TextGenerator> models, DynamicLora lora, Options options, Consumer<String> requestLog) {
        this.models = new LinkedHashMap<>(models);
        this.options = options;
        this.scheduler = new GenerationScheduler(options.maxBatch(), options.maxQueued(), options.kvMemoryBytes());
        this.loras = lora == null ? null : new LoraAdapters(lora.baseModel(), lora.loader(), lora.maxLoras());
        this.app = Javalin.create(config -> {
            config.startup.showJavalinBanner = false;
            config.http.compressionStrategy = CompressionStrategy.NONE;
            config.http.maxRequestSize = MAX_BODY_BYTES;
            config.http.prefer405over404 = true;
            config.requestLogger.http((ctx, millis) -> requestLog.accept(logLine(ctx, millis)));
            config.routes.before(ctx -> ctx.attribute(REQUEST_ID, randomId()));
            config.routes.before("/v1/*", this::authorize);
            config.routes.get(
                    "/health", ctx -> json(ctx, 200, JSON.createObjectNode().put("status", "ok")));
            config.routes.get("/metrics", this::metrics);
            config.routes.get("/v1/models", this::listModels);
            config.routes.get("/v1/models/{id}", this::showModel);
            config.routes.post("/v1/completions", this::completions);
            config.routes.post("/v1/chat/completions", this::chatCompletions);
            config.routes.post("/v1/load_lora_adapter", this::loadLoraAdapter);
            config.routes.post("/v1/unload_lora_adapter", this::unloadLoraAdapter);
            config.routes.exception(ApiException.class, (e, ctx) -> error(ctx, e));
            config.routes.exception(
                    BadInputException.class, (e, ctx) -> error(ctx, ApiException.badRequest(e.getMessage(), null)));
            config.routes.exception(
                    HttpResponseException.class,
                    (e, ctx) -> error(ctx, statusError(e.getStatus(), ctx, e.getMessage())));
            config.routes.exception(
                    Exception.class,
                    (e, ctx) -> error(ctx, new ApiException(500, "server_error", "internal error: " + e, null, null)));
            // Javalin answers unmatched paths, wrong methods and oversized bodies itself, in plain text
            for (int status = 400; status < 600; status++) {
                int code = status;
                config.routes.error(status, ctx -> {
                    if (!"application/json".equals(ctx.res().getContentType())) {
                        error(ctx, statusError(code, ctx, null));
                    }
                });
            }
        });
    }

    /** Starts serving without a request log; the models map names (as requests give them in {@code model}). */
    public static OpenAiServer start(Map<String, TextGenerator> models, Options options) {
        return start(models, options, line -> {});
    }

    /**
     * Starts serving; the models map names (as requests give them in {@code model}) to generators, and
     * {@code requestLog} receives one line per finished request.
     */
    public static OpenAiServer start(Map<String, TextGenerator> models, Options options, Consumer<String> requestLog) {
        return start(models, null, options, requestLog);
    }

    /** As {@link #start(Map, Options, Consumer)}, with LoRA adapters over one of the models (null: none). */
    public static OpenAiServer start(
            Map<String, TextGenerator> models, DynamicLora lora, Options options, Consumer<String> requestLog) {
        if (models.isEmpty()) {
            throw new IllegalArgumentException("no models to serve");
        }
        if (lora != null && !models.containsKey(lora.baseModel())) {
            throw new IllegalArgumentException("LoRA base model " + lora.baseModel() + " is not served");
        }
        OpenAiServer server = new OpenAiServer(models, lora, options, requestLog);
        try {
            server.app.start(options.host(), options.port());
        } catch (RuntimeException e) {
            server.close();
            throw new BadInputException(
                    "cannot listen on " + options.host() + ":" + options.port() + ": " + rootMessage(e));
        }
        return server;
    }

    private static String rootMessage(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null) {
            root = root.getCause();
        }
        return root.getMessage() != null ? root.getMessage() : root.toString();
    }

    /** The error body of a status Javalin set itself (no route, wrong method, body too large). */
    private static ApiException statusError(int status, Context ctx, String detail) {
        String message = switch (status) {
            case 404 -> "no such endpoint: " + ctx.method() + " " + ctx.path();
            case 405 -> "method " + ctx.method() + " is not allowed on " + ctx.path();
            case 413 -> "the request body is larger than the limit of " + MAX_BODY_BYTES + " bytes";
            default -> detail != null && !detail.isBlank() ? detail : "HTTP " + status;
        };
        String type = status >= 500 ? "server_error" : "invalid_request_error";
        return new ApiException(status, type, message, null, null);
    }

    /** One line per request: id, method and path, model, tokens, time and status. */
    private static String logLine(Context ctx, float millis) {
        int[] usage = ctx.attribute(REQUEST_USAGE);
        String model = ctx.attribute(REQUEST_MODEL);
        return String.format(
                java.util.Locale.ROOT,
                "request %s %s %s model=%s prompt_tokens=%s completion_tokens=%s time_ms=%.0f status=%d",
                ctx.<String>attribute(REQUEST_ID),
                ctx.method(),
                ctx.path(),
                model == null ? "-" : model,
                usage == null ? "-" : String.valueOf(usage[0]),
                usage == null ? "-" : String.valueOf(usage[1]),
                millis,
                ctx.statusCode());
    }

    /** The bound port. */
    public int port() {
        return app.port();
    }

    @Override
    public void close() {
        app.stop();
        scheduler.close();
        if (loras != null) {
            loras.close();
        }
    }

    /**
     * Loads a LoRA adapter directory as {@code name}, as {@code POST /v1/load_lora_adapter} does.
     *
     * @throws BadInputException when the server has no base for adapters, the name is taken, --max-loras adapters are
     *     loaded, or the directory holds no adapter that fits the base
     */
    public void loadAdapter(String name, Path dir) {
        if (loras == null) {
            throw new BadInputException("this server runs no LoRA adapters");
        }
        try {
            loras.load(name, dir.toString(), models::containsKey);
        } catch (ApiException e) {
            throw new BadInputException("--adapter " + name + "=" + dir + ": " + e.getMessage());
        }
    }

    private LoraAdapters dynamicLora() {
        if (loras == null) {
            throw new ApiException(
                    404, "NotFoundError", "this server runs no LoRA adapters (serve a base model)", null, null);
        }
        return loras;
    }

    /** vLLM's {@code POST /v1/load_lora_adapter}: 200 with a plain-text confirmation, or an error. */
    private void loadLoraAdapter(Context ctx) {
        JsonNode request = body(ctx);
        String name = request.path("lora_name").asText("");
        String path = request.path("lora_path").asText("");
        if (name.isEmpty() || path.isEmpty()) {
            throw new ApiException(
                    400, "InvalidUserInput", "Both 'lora_name' and 'lora_path' must be provided.", null, null);
        }
        dynamicLora().load(name, path, models::containsKey);
        ctx.status(200).contentType("text/plain").result("Success: LoRA adapter '" + name + "' added successfully.");
    }

    /** vLLM's {@code POST /v1/unload_lora_adapter}: requests already queued for the adapter still finish. */
    private void unloadLoraAdapter(Context ctx) {
        JsonNode request = body(ctx);
        String name = request.path("lora_name").asText("");
        if (name.isEmpty()) {
            throw new ApiException(400, "InvalidUserInput", "'lora_name' must be provided.", null, null);
        }
        dynamicLora().unload(name);
        ctx.status(200).contentType("text/plain").result("Success: LoRA adapter '" + name + "' removed successfully.");
    }

    /**
     * What a request's {@code model} names: a served model, or a loaded adapter over the base. An adapter stays
     * loaded until the request's generation is done ({@link #release}).
     */
    private final class Target {
        final String name;
        final TextGenerator generator;
        final LoraAdapters.Loaded lora;
        private final AtomicBoolean released = new AtomicBoolean();
        private boolean submitted;

        Target(String name, TextGenerator generator, LoraAdapters.Loaded lora) {
            this.name = name;
            this.generator = generator;
            this.lora = lora;
        }

        ScaledAdapter adapter() {
            return lora == null ? null : lora.scaled;
        }

        CompletableFuture<List<TextGenerator.Completion>> submit(
                List<int[]> prompts,
                Sampling generation,
                boolean randomSeed,
                TextGenerator.TextListener listener,
                java.util.function.BooleanSupplier cancelled) {
            CompletableFuture<List<TextGenerator.Completion>> future =
                    scheduler.submit(generator, adapter(), prompts, generation, randomSeed, listener, cancelled);
            submitted = true;
            future.whenComplete((results, failure) -> release());
            return future;
        }

        /** Releases the adapter unless a generation holds it (that releases it when done). */
        void releaseUnlessSubmitted() {
            if (!submitted) {
                release();
            }
        }

        private void release() {
            if (lora != null && released.compareAndSet(false, true)) {
                loras.release(lora);
            }
        }
    }

    private Target target(String model) {
        TextGenerator generator = models.get(model);
        if (generator != null) {
            return new Target(model, generator, null);
        }
        LoraAdapters.Loaded lora = loras == null ? null : loras.acquire(model);
        if (lora == null) {
            throw ApiException.modelNotFound(model);
        }
        return new Target(model, models.get(loras.baseModel()), lora);
    }

    private void authorize(Context ctx) {
        if (options.apiKey() != null && !("Bearer " + options.apiKey()).equals(ctx.header("Authorization"))) {
            throw ApiException.unauthorized();
        }
    }

    /**
     * The scheduler's counters and KV memory: per served model the KV bytes of a sequence's first token and of a
     * sequence at the full context (sliding-window layers keep only their window), and the budget with what the
     * running prompts reserve of it.
     */
    private void metrics(Context ctx) {
        GenerationScheduler.Stats stats = scheduler.stats();
        ObjectNode body = JSON.createObjectNode()
                .put("batches", stats.batches())
                .put("decode_steps", stats.steps())
                .put("sequences_admitted", stats.admitted())
                .put("sequences_joined_running_batch", stats.joinedRunningBatch())
                .put("sequences_running", stats.running())
                .put("prompts_queued", stats.queued())
                .put("kv_budget_bytes", stats.kvBudgetBytes())
                .put("kv_reserved_bytes", stats.kvReservedBytes());
        ObjectNode perToken = body.putObject("kv_bytes_per_token");
        ObjectNode perSequence = body.putObject("kv_bytes_per_sequence");
        models.forEach((name, generator) -> {
            perToken.put(name, generator.kvBytes(1));
            perSequence.put(name, generator.kvBytes(generator.contextLength()));
        });
        json(ctx, 200, body);
    }

    /** The scheduler, for tests that hold its worker at a decode step. */
    GenerationScheduler scheduler() {
        return scheduler;
    }

    private void listModels(Context ctx) {
        ArrayNode data = JSON.createArrayNode();
        models.keySet().forEach(name -> data.add(modelCard(name)));
        if (loras != null) {
            loras.list().forEach(lora -> data.add(loraCard(lora)));
        }
        ObjectNode body = JSON.createObjectNode().put("object", "list");
        body.set("data", data);
        json(ctx, 200, body);
    }

    /** One model as OpenAI's {@code GET /v1/models/{id}} answers it, with vLLM's {@code max_model_len}. */
    private void showModel(Context ctx) {
        String name = ctx.pathParam("id");
        if (models.containsKey(name)) {
            json(ctx, 200, modelCard(name));
            return;
        }
        LoraAdapters.Loaded lora = loras == null
                ? null
                : loras.list().stream()
                        .filter(l -> l.name.equals(name))
                        .findFirst()
                        .orElse(null);
        if (lora == null) {
            throw ApiException.modelNotFound(name);
        }
        json(ctx, 200, loraCard(lora));
    }

    /** An adapter as vLLM lists it: its path as {@code root}, the base model as {@code parent}. */
    private ObjectNode loraCard(LoraAdapters.Loaded lora) {
        return modelCard(loras.baseModel())
                .put("id", lora.name)
                .put("root", lora.path.toString())
                .put("parent", loras.baseModel());
    }

    private ObjectNode modelCard(String name) {
        return JSON.createObjectNode()
                .put("id", name)
                .put("object", "model")
                .put("created", started)
                .put("owned_by", "safemerge")
                .put("max_model_len", models.get(name).contextLength());
    }

    private void completions(Context ctx) throws IOException, InterruptedException {
        JsonNode request = body(ctx);
        Target target = target(modelName(ctx, request));
        try {
            TextGenerator generator = target.generator;
            rejectUnsupported(request, "echo", "best_of", "suffix", "logprobs");
            List<int[]> prompts = prompts(request.get("prompt"), generator);
            Sampling generation = fitToWindow(request, generator, prompts, generationOptions(request, 16));
            respond(ctx, request, target, prompts, generation, false);
        } finally {
            target.releaseUnlessSubmitted();
        }
    }

    private void chatCompletions(Context ctx) throws IOException, InterruptedException {
        JsonNode request = body(ctx);
        Target target = target(modelName(ctx, request));
        try {
            chatCompletions(ctx, request, target);
        } finally {
            target.releaseUnlessSubmitted();
        }
    }

    private void chatCompletions(Context ctx, JsonNode request, Target target)
            throws IOException, InterruptedException {
        TextGenerator generator = target.generator;
        rejectUnsupported(request, "logprobs", "top_logprobs");
        JsonNode format = request.path("response_format");
        if (!format.isMissingNode()
                && !format.isNull()
                && !"text".equals(format.path("type").asText())) {
            throw ApiException.badRequest("response_format other than text is not supported", "response_format");
        }
        List<Map<String, Object>> messages = messages(request.get("messages"));
        List<Map<String, Object>> tools = tools(request.get("tools"));
        List<int[]> prompt = List.of(generator.chatIds(messages, tools));
        Sampling generation =
                fitToWindow(request, generator, prompt, generationOptions(request, options.defaultMaxTokens()));
        respond(ctx, request, target, prompt, generation, true);
    }

    /**
     * Refuses prompts that do not fit in the context window with the requested {@code max_tokens}; without a request
     * for a length, the default length shrinks to what fits, as vLLM does.
     */
    private static Sampling fitToWindow(
            JsonNode request, TextGenerator generator, List<int[]> prompts, Sampling generation) {
        boolean requested = request.hasNonNull("max_tokens") || request.hasNonNull("max_completion_tokens");
        int maxNewTokens = generation.maxNewTokens();
        for (int i = 0; i < prompts.size(); i++) {
            String what = prompts.size() == 1 ? "the prompt" : "prompt " + i;
            if (requested) {
                generator.checkFits(prompts.get(i), generation.maxNewTokens(), what);
            } else {
                generator.checkFits(prompts.get(i), 1, what);
                maxNewTokens = Math.min(maxNewTokens, generator.contextLength() - prompts.get(i).length);
            }
        }
        return generation.withMaxNewTokens(maxNewTokens);
    }

    private void respond(
            Context ctx, JsonNode request, Target target, List<int[]> prompts, Sampling generation, boolean chat)
            throws IOException, InterruptedException {
        String model = target.name;
        String id = (chat ? "chatcmpl-" : "cmpl-") + ctx.attribute(REQUEST_ID);
        long created = System.currentTimeMillis() / 1000;
        JsonNode stream = request.path("stream");
        if (!stream.isMissingNode() && !stream.isNull() && !stream.isBoolean()) {
            throw ApiException.badRequest("stream must be a boolean", "stream");
        }
        if (!stream.asBoolean(false)) {
            ClientConnection client = new ClientConnection(ctx);
            List<TextGenerator.Completion> results = await(target.submit(
                    prompts, generation, randomSeed(request), TextGenerator.TextListener.NONE, client::gone));
            if (client.sentMore) {
                ctx.header("Connection", "close");
            }
            recordUsage(ctx, results);
            ObjectNode body = envelope(id, chat ? "chat.completion" : "text_completion", created, model);
            ArrayNode choices = body.putArray("choices");
            for (int i = 0; i < results.size(); i++) {
                ObjectNode choice = choices.addObject().put("index", i);
                if (chat) {
                    choice.putObject("message")
                            .put("role", "assistant")
                            .put("content", results.get(i).text());
                    choice.putNull("logprobs");
                } else {
                    choice.put("text", results.get(i).text()).putNull("logprobs");
                }
                choice.put("finish_reason", results.get(i).finishReason());
            }
            body.set("usage", usage(results));
            json(ctx, 200, body);
            return;
        }
        boolean includeUsage =
                request.path("stream_options").path("include_usage").asBoolean(false);
        BlockingQueue<Object> events = new LinkedBlockingQueue<>();
        AtomicBoolean clientGone = new AtomicBoolean();
        CompletableFuture<List<TextGenerator.Completion>> future = target.submit(
                prompts,
                generation,
                randomSeed(request),
                (index, delta) -> events.add(new Delta(index, delta)),
                clientGone::get);
        future.whenComplete((results, failure) -> events.add(new Done(results, failure)));
        try {
            stream(ctx, chat, id, created, model, prompts.size(), includeUsage, events);
        } catch (IOException e) {
            // the client closed the connection: stop generating for it, nobody reads the answer
            clientGone.set(true);
        }
    }

    private void stream(
            Context ctx,
            boolean chat,
            String id,
            long created,
            String model,
            int promptCount,
            boolean includeUsage,
            BlockingQueue<Object> events)
            throws IOException, InterruptedException {

        ctx.status(200);
        ctx.contentType("text/event-stream; charset=utf-8");
        ctx.header("Cache-Control", "no-cache");
        OutputStream out = ctx.outputStream();
        String object = chat ? "chat.completion.chunk" : "text_completion";
        BiFunction<Integer, ObjectNode, ObjectNode> chunk = (index, choice) -> {
            ObjectNode body = envelope(id, object, created, model);
            body.putArray("choices").add(choice.put("index", index));
            return body;
        };
        if (chat) {
            for (int i = 0; i < promptCount; i++) {
                ObjectNode choice = JSON.createObjectNode();
                choice.putObject("delta").put("role", "assistant").put("content", "");
                choice.putNull("logprobs").putNull("finish_reason");
                send(out, chunk.apply(i, choice));
            }
        }
        while (true) {
            Object event = events.take();
            if (event instanceof Delta(int index, String text)) {
                ObjectNode choice = JSON.createObjectNode();
                if (chat) {
                    choice.putObject("delta").put("content", text);
                } else {
                    choice.put("text", text);
                }
                choice.putNull("logprobs").putNull("finish_reason");
                send(out, chunk.apply(index, choice));
            } else if (event instanceof Done(List<TextGenerator.Completion> results, Throwable failure)) {
                if (failure != null) {
                    ApiException error = failure instanceof ApiException api
                            ? api
                            : failure instanceof BadInputException bad
                                    ? ApiException.badRequest(bad.getMessage(), null)
                                    : new ApiException(500, "server_error", "internal error: " + failure, null, null);
                    sendRaw(out, "data: " + JSON.writeValueAsString(errorBody(error)) + "\n\n");
                } else {
                    recordUsage(ctx, results);
                    for (int i = 0; i < results.size(); i++) {
                        ObjectNode choice = JSON.createObjectNode();
                        if (chat) {
                            choice.putObject("delta");
                        } else {
                            choice.put("text", "");
                        }
                        choice.putNull("logprobs")
                                .put("finish_reason", results.get(i).finishReason());
                        send(out, chunk.apply(i, choice));
                    }
                    if (includeUsage) {
                        ObjectNode body = envelope(id, object, created, model);
                        body.putArray("choices");
                        body.set("usage", usage(results));
                        send(out, body);
                    }
                }
                sendRaw(out, "data: [DONE]\n\n");
                return;
            }
        }
    }

    /**
     * Whether the client of a waiting non-streaming request has closed its connection. Jetty reads nothing from the
     * connection while the handler runs, so it would learn of the close only when the answer's write fails; this
     * reads the socket without blocking at each generated token instead: end of stream or an error means the client
     * is gone. A client that sends more bytes meanwhile (a pipelined request) is still there, but the byte read cannot
     * be handed back to Jetty, so its connection closes after the answer.
     */
    private static final class ClientConnection {
        private final EndPoint endPoint;
        private final ByteBuffer probe = BufferUtil.allocate(1);
        private volatile boolean gone;
        volatile boolean sentMore;

        ClientConnection(Context ctx) {
            this.endPoint = ServletContextRequest.getServletContextRequest(ctx.req())
                    .getConnectionMetaData()
                    .getConnection()
                    .getEndPoint();
        }

        /** Called on the generation thread only, while the request's handler waits. */
        boolean gone() {
            if (gone || sentMore) {
                return gone;
            }
            try {
                BufferUtil.clear(probe);
                int read = endPoint.fill(probe);
                if (read < 0) {
                    gone = true;
                } else if (read > 0) {
                    sentMore = true;
                }
            } catch (IOException e) {
                gone = true;
            }
            return gone;
        }
    }

    private record Delta(int index, String text) {}

    private record Done(List<TextGenerator.Completion> results, Throwable failure) {}

    private static void send(OutputStream out, ObjectNode body) throws IOException {
        sendRaw(out, "data: " + JSON.writeValueAsString(body) + "\n\n");
    }

    private static void sendRaw(OutputStream out, String text) throws IOException {
        out.write(text.getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    private static List<TextGenerator.Completion> await(CompletableFuture<List<TextGenerator.Completion>> future)
            throws InterruptedException {
        try {
            return future.get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException runtime) {
                throw runtime;
            }
            throw new IllegalStateException(e.getCause());
        }
    }

    private static ObjectNode envelope(String id, String object, long created, String model) {
        return JSON.createObjectNode()
                .put("id", id)
                .put("object", object)
                .put("created", created)
                .put("model", model);
    }

    private static void recordUsage(Context ctx, List<TextGenerator.Completion> results) {
        ctx.attribute(REQUEST_USAGE, new int[] {promptTokens(results), completionTokens(results)});
    }

    private static int promptTokens(List<TextGenerator.Completion> results) {
        return results.stream().mapToInt(TextGenerator.Completion::promptTokens).sum();
    }

    private static int completionTokens(List<TextGenerator.Completion> results) {
        return results.stream()
                .mapToInt(TextGenerator.Completion::completionTokens)
                .sum();
    }

    private static ObjectNode usage(List<TextGenerator.Completion> results) {
        int prompt = promptTokens(results);
        int completion = completionTokens(results);
        return JSON.createObjectNode()
                .put("prompt_tokens", prompt)
                .put("completion_tokens", completion)
                .put("total_tokens", prompt + completion);
    }

    private static String randomId() {
        byte[] bytes = new byte[12];
        RANDOM.nextBytes(bytes);
        return HexFormat.of().formatHex(bytes);
    }

    private static JsonNode body(Context ctx) {
        try {
            JsonNode node = JSON.readTree(ctx.bodyAsBytes());
            if (node == null || !node.isObject()) {
                throw ApiException.badRequest("the request body must be a JSON object", null);
            }
            return node;
        } catch (JsonProcessingException e) {
            throw ApiException.badRequest("the request body is not valid JSON: " + e.getOriginalMessage(), null);
        } catch (IOException e) {
            throw ApiException.badRequest("cannot read the request body: " + e.getMessage(), null);
        }
    }

    private static String modelName(Context ctx, JsonNode request) {
        JsonNode model = request.get("model");
        if (model == null || !model.isTextual()) {
            throw ApiException.badRequest("'model' is required and must be a string", "model");
        }
        ctx.attribute(REQUEST_MODEL, model.asText());
        return model.asText();
    }

    private static void rejectUnsupported(JsonNode request, String... fields) {
        for (String field : fields) {
            JsonNode value = request.get(field);
            boolean harmless = value == null
                    || value.isNull()
                    || (value.isBoolean() && !value.asBoolean())
                    || (field.equals("best_of") && value.isInt() && value.asInt() == 1);
            if (!harmless) {
                throw ApiException.badRequest("'" + field + "' is not supported", field);
            }
        }
        JsonNode n = request.get("n");
        if (n != null && !n.isNull() && !(n.isInt() && n.asInt() == 1)) {
            throw ApiException.badRequest("only n=1 is supported", "n");
        }
        for (String penalty : new String[] {"presence_penalty", "frequency_penalty"}) {
            JsonNode value = request.get(penalty);
            if (value != null && !value.isNull() && !(value.isNumber() && value.asDouble() == 0)) {
                throw ApiException.badRequest("'" + penalty + "' is not supported (use repetition_penalty)", penalty);
            }
        }
    }

    private static List<int[]> prompts(JsonNode prompt, TextGenerator generator) {
        if (prompt == null || prompt.isNull()) {
            throw ApiException.badRequest("'prompt' is required", "prompt");
        }
        List<int[]> prompts = new ArrayList<>();
        if (prompt.isTextual()) {
            prompts.add(generator.promptIds(prompt.asText()));
        } else if (prompt.isArray() && !prompt.isEmpty() && prompt.get(0).isInt()) {
            prompts.add(tokenIds(prompt));
        } else if (prompt.isArray() && !prompt.isEmpty()) {
            for (JsonNode element : prompt) {
                if (element.isTextual()) {
                    prompts.add(generator.promptIds(element.asText()));
                } else if (element.isArray() && !element.isEmpty()) {
                    prompts.add(tokenIds(element));
                } else {
                    throw ApiException.badRequest(
                            "'prompt' must be a string, a list of strings, a list of token ids or a list of lists",
                            "prompt");
                }
            }
        } else {
            throw ApiException.badRequest(
                    "'prompt' must be a string, a list of strings, a list of token ids or a list of lists", "prompt");
        }
        return prompts;
    }

    private static int[] tokenIds(JsonNode array) {
        int[] ids = new int[array.size()];
        for (int i = 0; i < ids.length; i++) {
            if (!array.get(i).isInt()) {
                throw ApiException.badRequest("token ids must be integers", "prompt");
            }
            ids[i] = array.get(i).asInt();
        }
        return ids;
    }

    private static List<Map<String, Object>> messages(JsonNode messages) {
        if (messages == null || !messages.isArray() || messages.isEmpty()) {
            throw ApiException.badRequest("'messages' must be a non-empty list", "messages");
        }
        if (messages.size() > MAX_MESSAGES) {
            throw ApiException.badRequest(
                    messages.size() + " messages are more than the limit of " + MAX_MESSAGES, "messages");
        }
        List<Map<String, Object>> result = new ArrayList<>();
        for (int i = 0; i < messages.size(); i++) {
            JsonNode message = messages.get(i);
            String where = "messages[" + i + "]";
            if (!message.isObject() || !message.path("role").isTextual()) {
                throw ApiException.badRequest(where + " must be an object with a string 'role'", "messages");
            }
            Map<String, Object> map = JSON.convertValue(
                    message, JSON.getTypeFactory().constructMapType(LinkedHashMap.class, String.class, Object.class));
            JsonNode content = message.get("content");
            if (content == null || content.isNull()) {
                if (!message.has("tool_calls")) {
                    throw ApiException.badRequest(where + ".content is required", "messages");
                }
                map.put("content", "");
            } else if (content.isArray()) {
                List<String> texts = new ArrayList<>();
                for (JsonNode part : content) {
                    if (!"text".equals(part.path("type").asText())
                            || !part.path("text").isTextual()) {
                        throw ApiException.badRequest(where + ": only text content parts are supported", "messages");
                    }
                    texts.add(part.path("text").asText());
                }
                map.put("content", String.join("\n", texts));
            } else if (!content.isTextual()) {
                throw ApiException.badRequest(where + ".content must be a string or a list of text parts", "messages");
            }
            result.add(map);
        }
        return result;
    }

    private static List<Map<String, Object>> tools(JsonNode tools) {
        if (tools == null || tools.isNull()) {
            return null;
        }
        if (!tools.isArray()) {
            throw ApiException.badRequest("'tools' must be a list", "tools");
        }
        List<Map<String, Object>> result = new ArrayList<>();
        for (JsonNode tool : tools) {
            if (!tool.isObject()) {
                throw ApiException.badRequest("each tool must be an object", "tools");
            }
            result.add(JSON.convertValue(
                    tool, JSON.getTypeFactory().constructMapType(LinkedHashMap.class, String.class, Object.class)));
        }
        return result;
    }

    private static Sampling generationOptions(JsonNode request, int defaultMaxTokens) {
        int maxTokens = intField(request, "max_completion_tokens", intField(request, "max_tokens", defaultMaxTokens));
        if (maxTokens < 0) {
            throw ApiException.badRequest("max_tokens must be >= 0", "max_tokens");
        }
        double temperature = numberField(request, "temperature", 1.0);
        if (temperature < 0 || temperature > 2) {
            throw ApiException.badRequest("temperature must be between 0 and 2", "temperature");
        }
        double topP = numberField(request, "top_p", 1.0);
        if (!(topP > 0 && topP <= 1)) {
            throw ApiException.badRequest("top_p must be in (0, 1]", "top_p");
        }
        int topK = intField(request, "top_k", 0);
        if (topK < -1) {
            throw ApiException.badRequest("top_k must be -1, 0 or positive", "top_k");
        }
        double repetitionPenalty = numberField(request, "repetition_penalty", 1.0);
        if (!(repetitionPenalty > 0)) {
            throw ApiException.badRequest("repetition_penalty must be > 0", "repetition_penalty");
        }
        JsonNode seedNode = request.get("seed");
        long seed = 0;
        if (seedNode == null || seedNode.isNull()) {
            // no seed: the scheduler draws one per batch
        } else if (seedNode.isIntegralNumber()) {
            seed = seedNode.asLong();
        } else {
            throw ApiException.badRequest("seed must be an integer", "seed");
        }
        JsonNode ignoreEos = request.get("ignore_eos");
        if (ignoreEos != null && !ignoreEos.isNull() && !ignoreEos.isBoolean()) {
            throw ApiException.badRequest("ignore_eos must be a boolean", "ignore_eos");
        }
        return Sampling.greedy(maxTokens)
                .withTemperature(temperature)
                .withTopP(topP)
                .withTopK(Math.max(0, topK))
                .withRepetitionPenalty(repetitionPenalty)
                .withSeed(seed)
                .withIgnoreEos(ignoreEos != null && ignoreEos.asBoolean())
                .withStop(stopStrings(request.get("stop")));
    }

    private static boolean randomSeed(JsonNode request) {
        return request.get("seed") == null || request.get("seed").isNull();
    }

    private static List<String> stopStrings(JsonNode stop) {
        if (stop == null || stop.isNull()) {
            return List.of();
        }
        List<String> result = new ArrayList<>();
        if (stop.isTextual()) {
            result.add(stop.asText());
        } else if (stop.isArray()) {
            for (JsonNode s : stop) {
                if (!s.isTextual()) {
                    throw ApiException.badRequest("stop must be a string or a list of strings", "stop");
                }
                result.add(s.asText());
            }
        } else {
            throw ApiException.badRequest("stop must be a string or a list of strings", "stop");
        }
        if (result.stream().anyMatch(String::isEmpty)) {
            throw ApiException.badRequest("stop strings must not be empty", "stop");
        }
        return result;
    }

    private static int intField(JsonNode request, String field, int fallback) {
        JsonNode value = request.get(field);
        if (value == null || value.isNull()) {
            return fallback;
        }
        if (!value.isInt()) {
            throw ApiException.badRequest(field + " must be an integer", field);
        }
        return value.asInt();
    }

    private static double numberField(JsonNode request, String field, double fallback) {
        JsonNode value = request.get(field);
        if (value == null || value.isNull()) {
            return fallback;
        }
        if (value.getNodeType() != JsonNodeType.NUMBER || !Double.isFinite(value.asDouble())) {
            throw ApiException.badRequest(field + " must be a number", field);
        }
        return value.asDouble();
    }

    private static ObjectNode errorBody(ApiException e) {
        ObjectNode body = JSON.createObjectNode();
        ObjectNode error = body.putObject("error");
        error.put("message", e.getMessage())
                .put("type", e.type)
                .put("param", e.param)
                .put("code", e.code);
        return body;
    }

    private static void error(Context ctx, ApiException e) {
        json(ctx, e.status, errorBody(e));
    }

    private static void json(Context ctx, int status, JsonNode body) {
        try {
            ctx.status(status).contentType("application/json").result(JSON.writeValueAsString(body));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
