package dev.safemerge.app;

import dev.safemerge.app.serve.OpenAiServer;
import dev.safemerge.model.ModelLoadOptions;
import dev.safemerge.model.text.LoadedTextModel;
import dev.safemerge.model.text.TextGenerator;
import dev.safemerge.tensor.BadInputException;
import dev.safemerge.tensor.ByteSizes;
import dev.safemerge.tensor.Progress;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(
        name = "serve",
        mixinStandardHelpOptions = true,
        description = {
            "Serve local models over an OpenAI-compatible API: /v1/models, /v1/models/{id}, /v1/completions,"
                    + " /v1/chat/completions (streaming too), and /health. One log line per request on stderr.",
            "Requests pick a model by name: the base model's name, or the name of a LoRA adapter. Adapters run over"
                    + " the one loaded copy of the base (no copy per adapter), given with --adapter or loaded while"
                    + " serving with vLLM's API: POST /v1/load_lora_adapter {\"lora_name\": NAME, \"lora_path\":"
                    + " DIR} and POST /v1/unload_lora_adapter {\"lora_name\": NAME}. Concurrent requests are"
                    + " batched, whatever adapter each uses."
        },
        footer = {
            "",
            "Example:",
            "  safemerge serve --model MODEL_DIR \\",
            "      --adapter tuned=ADAPTER_DIR --port 8000",
            "  curl http://127.0.0.1:8000/v1/chat/completions \\",
            "      -H 'Content-Type: application/json' \\",
            "      -d '{\"model\": \"tuned\", \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}'",
            "  curl http://127.0.0.1:8000/v1/load_lora_adapter \\",
            "      -H 'Content-Type: application/json' \\",
            "      -d '{\"lora_name\": \"other\", \"lora_path\": \"DIR2\"}'"
        })
final class ServeCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "DIR", description = "HF model directory.")
    Path model;

    @Option(
            names = "--served-model-name",
            paramLabel = "NAME",
            description = "Name of the base model in requests (default: the directory name).")
    String servedName;

    @Option(names = "--adapter", paramLabel = "NAME=DIR", description = "Also serve base+adapter as NAME (repeatable).")
    Map<String, Path> adapters = new LinkedHashMap<>();

    @Option(
            names = "--max-loras",
            defaultValue = "8",
            paramLabel = "N",
            description = "Most LoRA adapters loaded at once (--adapter ones included); loading more is refused."
                    + " Default: ${DEFAULT-VALUE}.")
    int maxLoras;

    @Option(
            names = "--host",
            defaultValue = "127.0.0.1",
            paramLabel = "HOST",
            description = "Address to bind. Default: ${DEFAULT-VALUE}.")
    String host;

    @Option(
            names = "--port",
            defaultValue = "8000",
            paramLabel = "PORT",
            description = "TCP port (0 picks a free one). Default: ${DEFAULT-VALUE}.")
    int port;

    @Option(names = "--api-key", paramLabel = "KEY", description = "Require 'Authorization: Bearer KEY'.")
    String apiKey;

    @Option(
            names = "--max-batch",
            defaultValue = "8",
            paramLabel = "N",
            description = "Sequences decoded together. Default: ${DEFAULT-VALUE}.")
    int maxBatch;

    @Option(
            names = "--max-queue",
            defaultValue = "64",
            paramLabel = "N",
            description = "Prompts that may wait; more get HTTP 429. Default: ${DEFAULT-VALUE}.")
    int maxQueue;

    @Option(
            names = "--default-max-tokens",
            defaultValue = "512",
            paramLabel = "N",
            description = "Chat answer length when a request sets none. Default: ${DEFAULT-VALUE}.")
    int defaultMaxTokens;

    @Option(
            names = "--kv-memory",
            paramLabel = "SIZE",
            description = "KV cache all running requests may need together, each counted at its worst case (prompt"
                    + " + max_tokens); requests wait until theirs fits, and one larger than all of it gets HTTP 400."
                    + " Default: half of the heap left free once the model is loaded.")
    String kvMemory;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    private long kvMemoryBytes() {
        try {
            return ByteSizes.parse(kvMemory);
        } catch (BadInputException e) {
            throw new BadInputException("--kv-memory: " + e.getMessage());
        }
    }

    @Override
    public Integer call() throws InterruptedException {
        if (maxBatch < 1 || maxQueue < 1 || defaultMaxTokens < 1 || maxLoras < 1) {
            throw new BadInputException("--max-batch, --max-queue, --default-max-tokens and --max-loras must be >= 1");
        }
        if (adapters.size() > maxLoras) {
            throw new BadInputException(
                    adapters.size() + " --adapter options are more than --max-loras " + maxLoras + " allows");
        }
        if (port < 0 || port > 65535) {
            throw new BadInputException("--port must be between 0 and 65535, got " + port);
        }
        String baseName = servedName != null
                ? servedName
                : model.toAbsolutePath().normalize().getFileName().toString();
        if (adapters.containsKey(baseName)) {
            throw new BadInputException("--adapter " + baseName + ": the name is already the base model's name");
        }
        LoadedTextModel base = LoadedTextModel.open(model, ModelLoadOptions.defaults(), maxBatch, Progress.SILENT);
        OpenAiServer server = null;
        try {
            Map<String, TextGenerator> models = Map.of(baseName, base.generator());
            PrintWriter err = spec.commandLine().getErr();
            long kvBytes = kvMemory == null ? OpenAiServer.Options.defaultKvMemory() : kvMemoryBytes();
            server = OpenAiServer.start(
                    models,
                    new OpenAiServer.DynamicLora(baseName, base.model()::loadAdapter, maxLoras),
                    new OpenAiServer.Options(host, port, apiKey, maxBatch, maxQueue, defaultMaxTokens, kvBytes),
                    line -> {
                        synchronized (err) {
                            err.println(line);
                            err.flush();
                        }
                    });
            for (Map.Entry<String, Path> adapter : adapters.entrySet()) {
                server.loadAdapter(adapter.getKey(), adapter.getValue());
            }
            List<String> names = new ArrayList<>(models.keySet());
            names.addAll(adapters.keySet());
            PrintWriter out = spec.commandLine().getOut();
            out.printf("serving %s on http://%s:%d/v1 (Ctrl-C stops)%n", String.join(", ", names), host, server.port());
            TextGenerator generator = base.generator();
            long perToken = generator.kvBytes(1);
            int context = generator.contextLength();
            long perSequence = generator.kvBytes(context);
            out.printf(
                    "KV cache: %s per token per sequence, %s per sequence at the full context of %d tokens%s; budget %s"
                            + " (--kv-memory)%n",
                    ByteSizes.format(perToken),
                    ByteSizes.format(perSequence),
                    context,
                    perSequence < perToken * context ? " (sliding-window layers keep only their window)" : "",
                    ByteSizes.format(kvBytes));
            out.flush();
        } catch (RuntimeException e) {
            if (server != null) {
                server.close();
            }
            base.close();
            throw e;
        }
        // Runs until the process is stopped; the hook closes the server (and its adapters), then the model.
        OpenAiServer running = server;
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            running.close();
            base.close();
        }));
        new CountDownLatch(1).await();
        return Main.EXIT_OK;
    }
}
