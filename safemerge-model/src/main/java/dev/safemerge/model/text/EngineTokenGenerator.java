package dev.safemerge.model.text;

import dev.safemerge.model.generate.GenerationResult;
import dev.safemerge.model.generate.Generator;
import dev.safemerge.model.generate.Sampling;
import dev.safemerge.model.generate.SequenceFeed;
import dev.safemerge.model.generate.SequenceSpec;
import dev.safemerge.tensor.Progress;
import java.util.List;

/** The inference engine's continuous-batching {@link Generator} as the text layer's token generator. */
public final class EngineTokenGenerator implements TokenGenerator {
    private final Generator generator;
    private final Progress.Factory progress;

    /**
     * @param progress shows the generated tokens of each call (Progress.SILENT in servers and tests)
     */
    public EngineTokenGenerator(Generator generator, Progress.Factory progress) {
        this.generator = generator;
        this.progress = progress;
    }

    @Override
    public int maxBatch() {
        return generator.maxBatch();
    }

    @Override
    public long kvBytes(long positions) {
        return generator.kvBytes(positions);
    }

    @Override
    public int contextLength() {
        return generator.contextLength();
    }

    @Override
    public List<TokenOutput> generate(List<int[]> prompts, Sampling options, TokenListener listener) {
        return generateSequences(SequenceSpec.plain(prompts), options, listener);
    }

    @Override
    public List<TokenOutput> generateSequences(List<SequenceSpec> sequences, Sampling options, TokenListener listener) {
        List<GenerationResult> results;
        try (Progress bar = progress.start("generate", (long) sequences.size() * options.maxNewTokens(), "tok")) {
            results = generator.generateSequences(sequences, options, listener::accept, bar);
        }
        return results.stream()
                .map(r -> new TokenOutput(r.tokenIds(), r.finishReason(), r.promptTokens()))
                .toList();
    }

    @Override
    public void generateFeed(SequenceFeed feed, TokenListener listener) {
        try (Progress bar = progress.start("generate", -1, "tok")) {
            generator.generate(feed, listener::accept, bar);
        }
    }
}
