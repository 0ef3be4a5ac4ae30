package dev.safemerge.app;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.safemerge.eval.Json;
import dev.safemerge.eval.data.RecordedResponses;
import dev.safemerge.eval.gen.CachedGenerator;
import dev.safemerge.eval.gen.GenerationCache;
import dev.safemerge.eval.gen.LocalModels;
import dev.safemerge.eval.gen.OpenAiGenerator;
import dev.safemerge.eval.gen.ResponseGenerator;
import dev.safemerge.eval.run.AnswerSource;
import dev.safemerge.eval.run.Protocol;
import dev.safemerge.model.text.ChatTemplate;
import dev.safemerge.tensor.BadInputException;
import java.nio.file.Path;
import java.util.List;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Where responses come from and how they are generated; shared by {@code eval safety} and {@code eval task}. */
final class GenerationOptions {
    /** How these defaults differ from chat's and generate's, for the help of both eval commands. */
    static final String DEFAULTS_NOTE = "Defaults differ from chat and generate (no system prompt, no repetition"
            + " penalty): --protocol study sends the system prompt and uses a repetition penalty of 1.2; --protocol"
            + " plain has no penalty.";

    static final class Source {
        @Option(
                names = "--endpoint",
                paramLabel = "URL",
                description = "An OpenAI-compatible server (vLLM, llama.cpp, TGI, safemerge serve).")
        String endpoint;

        @Option(
                names = "--model",
                paramLabel = "DIR",
                description = "Generate in-process with the Java engine from this HF model directory.")
        Path model;

        @Option(
                names = "--responses",
                paramLabel = "FILE",
                description = "Score answers produced elsewhere: JSONL with prompt and response (or answer).")
        Path responses;
    }

    @ArgGroup(exclusive = true, multiplicity = "1")
    Source source;

    @Option(
            names = "--model-name",
            paramLabel = "NAME",
            description = "Model name the server serves (with --endpoint).")
    String modelName;

    @Option(names = "--adapter", paramLabel = "DIR", description = "PEFT LoRA adapter on top of --model.")
    Path adapter;

    @Option(
            names = "--batch",
            defaultValue = "8",
            paramLabel = "N",
            description = "Sequences decoded together in-process (default 8).")
    int batch;

    @Option(names = "--threads", paramLabel = "N", description = "Kernel threads in-process (default: one per core).")
    Integer threads;

    @Mixin
    ProtocolOptions protocolOptions;

    @Mixin
    RemoteOptions remote;

    @Option(
            names = "--cache",
            paramLabel = "FILE",
            description = "Generation cache (JSONL, append-only; default OUT/generation-cache.jsonl).")
    Path cache;

    /** The preset named by --protocol with every option given on the command line applied and recorded. */
    Protocol protocol() {
        return protocolOptions
                .settings()
                .resolve(source.model != null ? LocalModels.modelType(source.model) : modelName);
    }

    Path cacheFile(Path outDir) {
        return cache != null ? cache : outDir.resolve("generation-cache.jsonl");
    }

    /** An answer source and the backends to close when the command ends. */
    record Opened(AnswerSource source, List<ResponseGenerator> backends) implements AutoCloseable {
        @Override
        public void close() {
            backends.forEach(ResponseGenerator::close);
        }
    }

    /**
     * Opens the answer source; generated answers go through {@code cache}, and in-process generation renders
     * conversations with {@code chatTemplate} (null: the model's own).
     */
    Opened open(GenerationCache cache, ChatTemplate chatTemplate) {
        if (source.responses != null) {
            if (adapter != null) {
                throw new BadInputException("--adapter goes with --model");
            }
            return new Opened(
                    new AnswerSource.Recorded(RecordedResponses.load(source.responses), source.responses.toString()),
                    List.of());
        }
        ResponseGenerator backend;
        if (source.model != null) {
            backend = LocalModels.open(source.model, adapter, batch, ThreadCount.resolve(threads), chatTemplate);
        } else {
            if (adapter != null) {
                throw new BadInputException("--adapter goes with --model; a server applies its own adapters");
            }
            backend = new OpenAiGenerator(remote.server(source.endpoint, modelName, "--model-name"));
        }
        return new Opened(new AnswerSource.Generated(new CachedGenerator(backend, cache)), List.of(backend));
    }

    /** The model whose answers are evaluated, as summary lines name it. */
    String modelLabel() {
        if (source.endpoint != null) {
            return modelName;
        }
        if (source.model != null) {
            return source.model.getFileName() + (adapter == null ? "" : "+" + adapter.getFileName());
        }
        return "answers in " + source.responses.getFileName();
    }

    boolean generates() {
        return source.responses == null;
    }

    ObjectNode toJson() {
        ObjectNode node = Json.object();
        if (source.endpoint != null) {
            node.put("endpoint", source.endpoint);
            node.put("model_name", modelName);
        }
        if (source.responses != null) {
            node.put("responses", source.responses.toString());
        }
        if (source.model != null) {
            node.put("model", source.model.toString());
            node.put("adapter", adapter == null ? null : adapter.toString());
            node.put("batch", batch);
        }
        node.put("concurrency", remote.concurrency);
        node.put("timeout_seconds", remote.timeoutSeconds);
        node.put("retries", remote.retries);
        return node;
    }
}
