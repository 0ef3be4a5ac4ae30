package dev.safemerge.app;

import dev.safemerge.model.Model;
import dev.safemerge.model.ModelLoadOptions;
import dev.safemerge.model.text.EngineTokenGenerator;
import dev.safemerge.model.text.HfTokenizer;
import dev.safemerge.model.text.TextGenerator;
import dev.safemerge.tensor.Progress;
import java.nio.file.Path;

/** A model directory (plus an optional PEFT adapter) loaded for text generation: engine, tokenizer, template. */
final class LocalTextModel implements AutoCloseable {
    private final Model model;
    private final HfTokenizer tokenizer;
    private final TextGenerator generator;

    private LocalTextModel(Model model, HfTokenizer tokenizer, TextGenerator generator) {
        this.model = model;
        this.tokenizer = tokenizer;
        this.generator = generator;
    }

    /**
     * @param adapter a PEFT adapter directory, applied unmerged (exact float32 low-rank path), or null
     * @param maxBatch sequences decoded together
     * @param progress progress of each generation call
     */
    static LocalTextModel open(Path modelDir, Path adapter, int maxBatch, Progress.Factory progress) {
        HfTokenizer tokenizer = HfTokenizer.load(modelDir);
        try {
            ModelLoadOptions options = ModelLoadOptions.defaults();
            if (adapter != null) {
                options = options.withAdapter(adapter, false);
            }
            Model model = Model.load(modelDir, options);
            TextGenerator generator =
                    new TextGenerator(tokenizer, new EngineTokenGenerator(model.generator(maxBatch), progress));
            return new LocalTextModel(model, tokenizer, generator);
        } catch (RuntimeException e) {
            tokenizer.close();
            throw e;
        }
    }

    TextGenerator generator() {
        return generator;
    }

    HfTokenizer tokenizer() {
        return tokenizer;
    }

    @Override
    public void close() {
        model.close();
        tokenizer.close();
    }
}
