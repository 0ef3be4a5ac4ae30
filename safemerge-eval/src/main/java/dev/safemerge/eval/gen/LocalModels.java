package dev.safemerge.eval.gen;

import com.fasterxml.jackson.databind.JsonNode;
import dev.safemerge.eval.Json;
import dev.safemerge.model.Model;
import dev.safemerge.model.ModelLoadOptions;
import dev.safemerge.model.text.ChatTemplate;
import dev.safemerge.model.text.EngineTokenGenerator;
import dev.safemerge.model.text.HfTokenizer;
import dev.safemerge.model.text.TextGenerator;
import dev.safemerge.tensor.BadInputException;
import dev.safemerge.tensor.Progress;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Opens a local HF model directory (plus an optional PEFT adapter) as an in-process generation backend. */
public final class LocalModels {
    private LocalModels() {}

    /**
     * @param adapter a PEFT adapter applied on top (kept separate, as a server with LoRA support would), or null
     * @param batch sequences decoded together
     * @param threads kernel threads, 0 for one per core
     */
    public static InProcessGenerator open(Path modelDir, Path adapter, int batch, int threads) {
        return open(modelDir, adapter, batch, threads, null);
    }

    /**
     * As {@link #open(Path, Path, int, int)}, with conversations rendered by {@code chatTemplate} instead of the
     * model's own template (null: the model's own); the override is part of the fingerprint, so cached answers made
     * with another template are not reused.
     */
    public static InProcessGenerator open(
            Path modelDir, Path adapter, int batch, int threads, ChatTemplate chatTemplate) {
        if (batch < 1) {
            throw new BadInputException("--batch must be at least 1");
        }
        String fingerprint =
                ModelFingerprint.of(modelDir, adapter, chatTemplate == null ? null : chatTemplate.source());
        HfTokenizer tokenizer = HfTokenizer.load(modelDir, chatTemplate);
        Model model;
        try {
            ModelLoadOptions options = ModelLoadOptions.defaults().withThreads(threads);
            model = Model.load(modelDir, adapter == null ? options : options.withAdapter(adapter, false));
        } catch (RuntimeException e) {
            tokenizer.close();
            throw e;
        }
        TextGenerator text =
                new TextGenerator(tokenizer, new EngineTokenGenerator(model.generator(batch), Progress.SILENT));
        String description = "in-process " + modelDir + (adapter == null ? "" : " + adapter " + adapter)
                + (chatTemplate == null ? "" : " with the chat template of " + chatTemplate.origin());
        return new InProcessGenerator(text, fingerprint, description, () -> {
            try (tokenizer) {
                model.close();
            }
        });
    }

    /** The config's model_type (e.g. "gemma2"), or "" when the directory has no readable config.json. */
    public static String modelType(Path modelDir) {
        Path config = modelDir.resolve("config.json");
        if (!Files.isRegularFile(config)) {
            return "";
        }
        try {
            JsonNode node = Json.MAPPER.readTree(config.toFile());
            return node.path("model_type").asText("");
        } catch (IOException e) {
            throw new BadInputException(config + ": not valid JSON");
        }
    }
}
