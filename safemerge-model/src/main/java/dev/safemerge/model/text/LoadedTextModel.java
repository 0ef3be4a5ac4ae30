package dev.safemerge.model.text;

import dev.safemerge.model.Model;
import dev.safemerge.model.ModelLoadOptions;
import dev.safemerge.tensor.Progress;
import java.nio.file.Path;

/**
 * A model directory loaded for text generation in one call: the engine's model (with an optional PEFT adapter),
 * the tokenizer and chat template, and a {@link TextGenerator} over them. Close it to release the weights.
 *
 * <pre>{@code
 * try (LoadedTextModel m = LoadedTextModel.open(dir, ModelLoadOptions.defaults(), 8, Progress.SILENT)) {
 *     List<TextGenerator.Completion> answers = m.generator().chat(conversations, Sampling.greedy(256));
 * }
 * }</pre>
 */
public final class LoadedTextModel implements AutoCloseable {
    private final Model model;
    private final HfTokenizer tokenizer;
    private final TextGenerator generator;

    private LoadedTextModel(Model model, HfTokenizer tokenizer, TextGenerator generator) {
        this.model = model;
        this.tokenizer = tokenizer;
        this.generator = generator;
    }

    /**
     * Loads with the engine's defaults and an optional PEFT adapter (null for none), applied unmerged: the exact
     * float32 low-rank path.
     */
    public static LoadedTextModel open(Path modelDir, Path adapter, int maxBatch, Progress.Factory progress) {
        ModelLoadOptions options = ModelLoadOptions.defaults();
        return open(modelDir, adapter == null ? options : options.withAdapter(adapter, false), maxBatch, progress);
    }

    /**
     * @param options how the engine loads the weights (adapter, quantization, threads)
     * @param maxBatch sequences decoded together
     * @param progress progress display of each generation call
     */
    public static LoadedTextModel open(
            Path modelDir, ModelLoadOptions options, int maxBatch, Progress.Factory progress) {
        HfTokenizer tokenizer = HfTokenizer.load(modelDir);
        try {
            Model model = Model.load(modelDir, options);
            TextGenerator generator =
                    new TextGenerator(tokenizer, new EngineTokenGenerator(model.generator(maxBatch), progress));
            return new LoadedTextModel(model, tokenizer, generator);
        } catch (RuntimeException e) {
            tokenizer.close();
            throw e;
        }
    }

    public TextGenerator generator() {
        return generator;
    }

    public HfTokenizer tokenizer() {
        return tokenizer;
    }

    public Model model() {
        return model;
    }

    @Override
    public void close() {
        model.close();
        tokenizer.close();
    }
}
