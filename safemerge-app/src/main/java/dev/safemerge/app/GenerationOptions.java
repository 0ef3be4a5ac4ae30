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
import dev.safemerge.model.generate.Sampling;
import dev.safemerge.model.text.ChatTemplate;
import dev.safemerge.tensor.BadInputException;
import java.nio.file.Path;
import java.util.ArrayList;
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

    @Option(
            names = "--protocol",
            defaultValue = "study",
            paramLabel = "NAME",
            description = "Preset of system prompt and decoding settings (default ${DEFAULT-VALUE}): study = the"
                    + " study's (system prompt \"You are a helpful assistant.\", none for Gemma; greedy; 512 new"
                    + " tokens; repetition penalty 1.2; seed 42); plain = study without the repetition penalty;"
                    + " demo = no system prompt, greedy, 32 new tokens, no penalty (the shipped tiny model). The"
                    + " options below override the preset; overrides are recorded in summary.json.")
    String protocolName;

    @Option(
            names = {"--system", "--system-prompt"},
            paramLabel = "TEXT",
            description = "System prompt instead of the preset's (--system-prompt is an alias).")
    String systemPrompt;

    @Option(names = "--no-system-prompt", description = "Send no system turn.")
    boolean noSystemPrompt;

    @Option(names = "--temperature", paramLabel = "T", description = "0 = greedy (every preset is greedy).")
    Double temperature;

    @Option(names = "--top-p", paramLabel = "P", description = "Nucleus sampling mass (presets: 1).")
    Double topP;

    @Option(names = "--top-k", paramLabel = "K", description = "Top-k sampling, 0 = off (presets: 0).")
    Integer topK;

    @Option(names = "--max-new-tokens", paramLabel = "N", description = "New tokens per answer.")
    Integer maxNewTokens;

    @Option(names = "--repetition-penalty", paramLabel = "X", description = "HF repetition penalty, 1 = off.")
    Double repetitionPenalty;

    @Option(names = "--seed", paramLabel = "SEED", description = "Sampling seed (presets: 42).")
    Long seed;

    @Mixin
    RemoteOptions remote;

    @Option(
            names = "--cache",
            paramLabel = "FILE",
            description = "Generation cache (JSONL, append-only; default OUT/generation-cache.jsonl).")
    Path cache;

    /** The preset named by --protocol with every option given on the command line applied and recorded. */
    Protocol protocol() {
        Protocol.Preset preset = Protocol.Preset.byLabel(protocolName);
        if (preset == null) {
            throw new BadInputException(
                    "--protocol " + protocolName + ": unknown preset; one of " + Protocol.Preset.labels());
        }
        Protocol base = preset.protocol(source.model != null ? LocalModels.modelType(source.model) : modelName);
        Sampling p = base.sampling();
        List<String> overrides = new ArrayList<>();
        String system = base.systemPrompt();
        if (noSystemPrompt && systemPrompt != null) {
            throw new BadInputException("--system and --no-system-prompt exclude each other");
        }
        if (noSystemPrompt) {
            system = null;
            overrides.add("--no-system-prompt");
        } else if (systemPrompt != null) {
            system = systemPrompt;
            overrides.add("--system " + systemPrompt);
        }
        // Sampling refuses values out of range as bad input; the overrides are recorded in option order.
        Sampling given = p.withTemperature(override(overrides, "--temperature", temperature, p.temperature()))
                .withTopP(override(overrides, "--top-p", topP, p.topP()))
                .withTopK(override(overrides, "--top-k", topK, p.topK()))
                .withMaxNewTokens(override(overrides, "--max-new-tokens", maxNewTokens, p.maxNewTokens()))
                .withRepetitionPenalty(
                        override(overrides, "--repetition-penalty", repetitionPenalty, p.repetitionPenalty()))
                .withSeed(override(overrides, "--seed", seed, p.seed()));
        return new Protocol(base.preset(), system, given, overrides);
    }

    /** The given value (recorded when it differs from the preset's) or the preset's. */
    private static <T> T override(List<String> overrides, String option, T given, T preset) {
        if (given == null) {
            return preset;
        }
        if (!given.equals(preset)) {
            overrides.add(option + " " + given);
        }
        return given;
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
