package dev.safemerge.app.serve;

import dev.safemerge.app.TextGenerationEndToEndTest;
import dev.safemerge.model.text.LoadedTextModel;
import dev.safemerge.model.text.TextGenerator;
import dev.safemerge.tensor.Progress;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/**
 * What the serving tests share: the tiny random Llama ({@link TextGenerationEndToEndTest#writeTinyLlama}) loaded with
 * a batch of {@link #MAX_BATCH}, and servers that serve one generator as {@link #MODEL} on 127.0.0.1 at a free port.
 */
final class TinyLlamaServers {
    static final String MODEL = "tiny";
    static final int MAX_BATCH = 64;
    static final int DEFAULT_MAX_TOKENS = 64;

    private TinyLlamaServers() {}

    /** Writes the tiny Llama under {@code dir} and loads it for the engine; the caller closes it. */
    static LoadedTextModel load(Path dir) throws IOException {
        return LoadedTextModel.open(
                TextGenerationEndToEndTest.writeTinyLlama(dir.resolve("tiny-llama")),
                (Path) null,
                MAX_BATCH,
                Progress.SILENT);
    }

    /** A server of {@code generator} with a batch of {@link #MAX_BATCH} and the default KV budget. */
    static OpenAiServer start(TextGenerator generator, String apiKey, int maxQueued) {
        return start(generator, apiKey, maxQueued, OpenAiServer.Options.defaultKvMemory());
    }

    /** A server of {@code generator} with a batch of {@link #MAX_BATCH}, the queue and KV budget given. */
    static OpenAiServer start(TextGenerator generator, String apiKey, int maxQueued, long kvMemoryBytes) {
        return OpenAiServer.start(
                Map.of(MODEL, generator),
                new OpenAiServer.Options(
                        "127.0.0.1", 0, apiKey, MAX_BATCH, maxQueued, DEFAULT_MAX_TOKENS, kvMemoryBytes));
    }
}
