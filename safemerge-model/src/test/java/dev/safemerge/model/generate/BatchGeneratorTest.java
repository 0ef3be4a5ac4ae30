package dev.safemerge.model.generate;

import static org.assertj.core.api.Assertions.assertThat;

import dev.safemerge.model.Model;
import dev.safemerge.model.ModelLoadOptions;
import dev.safemerge.tensor.Progress;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BatchGeneratorTest {
    static final Path MODEL = Path.of("src/test/resources/reference/models/llama31_bf16_tied_sharded");
    static Model model;

    @BeforeAll
    static void load() {
        model = Model.load(MODEL, ModelLoadOptions.defaults());
    }

    @AfterAll
    static void close() {
        model.close();
    }

    private static List<int[]> prompts() {
        List<int[]> prompts = new ArrayList<>();
        for (int i = 0; i < 7; i++) {
            int[] prompt = new int[2 + i % 4];
            for (int j = 0; j < prompt.length; j++) {
                prompt[j] = 10 + 17 * i + 3 * j;
            }
            prompts.add(prompt);
        }
        return prompts;
    }

    @Test
    void seededSamplingIsReproducibleAndIndependentOfBatching() {
        Sampling params = Sampling.greedy(9)
                .withTemperature(0.9)
                .withTopK(40)
                .withTopP(0.95)
                .withRepetitionPenalty(1.1)
                .withSeed(1234)
                .withIgnoreEos(true);
        List<GenerationResult> one = model.generator(1).generate(prompts(), params, TokenCallback.NONE, Progress.NONE);
        List<GenerationResult> three =
                model.generator(3).generate(prompts(), params, TokenCallback.NONE, Progress.NONE);
        List<GenerationResult> again =
                model.generator(3).generate(prompts(), params, TokenCallback.NONE, Progress.NONE);
        assertThat(three).isEqualTo(one);
        assertThat(again).isEqualTo(three);
        List<GenerationResult> otherSeed =
                model.generator(3).generate(prompts(), params.withSeed(99), TokenCallback.NONE, Progress.NONE);
        assertThat(otherSeed).isNotEqualTo(one);
    }

    @Test
    void generationStopsAtEndOfSequenceIdsFromGenerationConfig(@TempDir Path dir) throws IOException {
        assertThat(model.eosTokenIds()).containsExactly(2, 5);
        List<GenerationResult> free = model.generator(4)
                .generate(prompts(), Sampling.greedy(8).withIgnoreEos(true), TokenCallback.NONE, Progress.NONE);
        int eos = free.get(0).tokenIds()[2];
        try (var files = Files.list(MODEL)) {
            for (Path file : files.toList()) {
                Files.copy(file, dir.resolve(file.getFileName()));
            }
        }
        Files.writeString(dir.resolve("generation_config.json"), "{\"eos_token_id\": [" + eos + ", 254]}");
        try (Model withEos = Model.load(dir, ModelLoadOptions.defaults())) {
            List<GenerationResult> stopped =
                    withEos.generator(4).generate(prompts(), Sampling.greedy(8), TokenCallback.NONE, Progress.NONE);
            for (int i = 0; i < free.size(); i++) {
                int[] all = free.get(i).tokenIds();
                int firstEos = -1;
                for (int t = 0; t < all.length && firstEos < 0; t++) {
                    if (all[t] == eos || all[t] == 254) {
                        firstEos = t;
                    }
                }
                if (firstEos >= 0) {
                    assertThat(stopped.get(i).finishReason()).isEqualTo(GenerationResult.STOP);
                    assertThat(stopped.get(i).tokenIds()).containsExactly(java.util.Arrays.copyOf(all, firstEos + 1));
                } else {
                    assertThat(stopped.get(i).finishReason()).isEqualTo(GenerationResult.LENGTH);
                    assertThat(stopped.get(i).tokenIds()).containsExactly(all);
                }
            }
            assertThat(stopped.get(0).tokenIds()).hasSizeLessThanOrEqualTo(3);
            List<GenerationResult> ignoring = withEos.generator(4)
                    .generate(prompts(), Sampling.greedy(8).withIgnoreEos(true), TokenCallback.NONE, Progress.NONE);
            assertThat(ignoring).isEqualTo(free);
        }
    }

    @Test
    void callbackStopsOnlyItsSequenceAndSeesEveryToken() {
        Sampling params = Sampling.greedy(6).withIgnoreEos(true);
        List<List<Integer>> seen = new ArrayList<>();
        for (int i = 0; i < prompts().size(); i++) {
            seen.add(new ArrayList<>());
        }
        AtomicLong progress = new AtomicLong();
        Progress counting = new Progress() {
            @Override
            public void step(long amount) {
                progress.addAndGet(amount);
            }

            @Override
            public void message(String text) {}

            @Override
            public void close() {}
        };
        List<GenerationResult> results = model.generator(2)
                .generate(
                        prompts(),
                        params,
                        (sequence, token) -> {
                            seen.get(sequence).add(token);
                            return !(sequence == 1 && seen.get(1).size() == 3);
                        },
                        counting);
        assertThat(results.get(1).finishReason()).isEqualTo(GenerationResult.CALLBACK);
        assertThat(results.get(1).tokenIds()).hasSize(3);
        long total = 0;
        for (int i = 0; i < results.size(); i++) {
            assertThat(results.get(i).tokenIds())
                    .containsExactly(
                            seen.get(i).stream().mapToInt(Integer::intValue).toArray());
            if (i != 1) {
                assertThat(results.get(i).tokenIds()).hasSize(6);
                assertThat(results.get(i).finishReason()).isEqualTo(GenerationResult.LENGTH);
            }
            total += results.get(i).tokenIds().length;
        }
        assertThat(progress.get()).isEqualTo(total);
    }

    @Test
    void zeroNewTokensGivesEmptyResults() {
        List<GenerationResult> results =
                model.generator(2).generate(prompts(), Sampling.greedy(0), TokenCallback.NONE, Progress.NONE);
        assertThat(results).allSatisfy(r -> {
            assertThat(r.tokenIds()).isEmpty();
            assertThat(r.finishReason()).isEqualTo(GenerationResult.LENGTH);
        });
    }

    @Test
    void cachedDecodingGivesTheSameLogitsAsAFullForward() {
        int[] ids = {1, 9, 33, 7, 250, 18, 4};
        float[][] full = model.forward(ids);
        KvCache cache = model.newCache(2);
        int vocab = model.spec().vocabSize();
        float[] prefix = model.step(List.of(cache), List.of(java.util.Arrays.copyOf(ids, 3)));
        for (int v = 0; v < vocab; v++) {
            assertThat(prefix[v]).isCloseTo(full[2][v], org.assertj.core.data.Offset.offset(1e-4f));
        }
        for (int t = 3; t < ids.length; t++) {
            float[] step = model.step(List.of(cache), List.of(new int[] {ids[t]}));
            for (int v = 0; v < vocab; v++) {
                assertThat(step[v]).isCloseTo(full[t][v], org.assertj.core.data.Offset.offset(1e-4f));
            }
        }
        assertThat(cache.length()).isEqualTo(ids.length);
    }
}
