package dev.safemerge.eval.gen;

import dev.safemerge.model.generate.Sampling;
import dev.safemerge.model.text.ChatMessage;
import dev.safemerge.model.text.TextGenerator;
import java.util.ArrayList;
import java.util.List;

/**
 * Generates with the Java engine through the text layer: chat requests are rendered with the tokenizer's chat
 * template, which holds the BOS (the model's own, or the override given to {@link LocalModels}), raw prompts are tokenised as given. Requests go in batches of the engine's size,
 * and each batch's responses are handed on before the next batch starts, so an interrupted run keeps them.
 */
public final class InProcessGenerator implements ResponseGenerator {
    private final TextGenerator text;
    private final String identity;
    private final String description;
    private final AutoCloseable resources;

    /**
     * @param identity the model's fingerprint ({@link ModelFingerprint})
     * @param resources closed with this generator (the loaded model), or null
     */
    public InProcessGenerator(TextGenerator text, String identity, String description, AutoCloseable resources) {
        this.text = text;
        this.identity = identity;
        this.description = description;
        this.resources = resources;
    }

    @Override
    public String modelIdentity() {
        return "in-process " + identity;
    }

    @Override
    public String describe() {
        return description;
    }

    @Override
    public void generate(List<GenerationRequest> requests, Sampling params, ResponseSink sink) {
        int batch = Math.max(1, text.maxBatch());
        for (int start = 0; start < requests.size(); start += batch) {
            int end = Math.min(requests.size(), start + batch);
            List<int[]> prompts = new ArrayList<>();
            for (GenerationRequest request : requests.subList(start, end)) {
                prompts.add(ids(text, request));
            }
            List<TextGenerator.Completion> completions =
                    text.generate(prompts, params, TextGenerator.TextListener.NONE);
            for (int i = 0; i < completions.size(); i++) {
                sink.accept(start + i, completions.get(i).text());
            }
        }
    }

    /** Token ids of a request: chat through the model's template, raw prompts as given. */
    static int[] ids(TextGenerator text, GenerationRequest request) {
        return switch (request) {
            case GenerationRequest.Raw raw -> text.promptIds(raw.prompt());
            case GenerationRequest.Chat chat -> {
                yield text.chatIds(
                        chat.messages().stream().map(ChatMessage::asMap).toList(), null);
            }
        };
    }

    @Override
    public void close() {
        if (resources != null) {
            try {
                resources.close();
            } catch (Exception e) {
                throw new IllegalStateException("cannot release the model", e);
            }
        }
    }
}
