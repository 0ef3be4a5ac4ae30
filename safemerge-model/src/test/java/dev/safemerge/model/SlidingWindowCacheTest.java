package dev.safemerge.model;

import static org.assertj.core.api.Assertions.assertThat;

import dev.safemerge.model.generate.KvCache;
import dev.safemerge.model.generate.Sampling;
import dev.safemerge.model.generate.TokenCallback;
import dev.safemerge.tensor.Progress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Sliding-window layers keep only their window, in a ring, on the tiny transformers checkpoints with a window of 4
 * (Mistral: every layer; Gemma 2: layer 0 sliding, layer 1 full). Seeded sequences ten times the window long, fed
 * as a long prompt chunk, several chunks and single decode steps, give bit for bit the logits of a cache that keeps
 * every position (the same float operations in the same order read the same key rows), and greedy generation gives
 * the same tokens. TransformersGoldenTest checks both paths against transformers itself on sequences beyond the
 * window.
 */
class SlidingWindowCacheTest {
    private static final Path MODELS = TransformersGoldenTest.GOLDENS.resolve("models");
    private static final int WINDOW = 4;

    @ParameterizedTest
    @ValueSource(strings = {"mistral_f32_window", "gemma2_f32_softcap_window"})
    void aWindowedCacheGivesTheLogitsOfAFullCacheAndHoldsOnlyTheWindow(String name) {
        try (Model model = Model.load(MODELS.resolve(name), ModelLoadOptions.defaults())) {
            ModelSpec spec = model.spec();
            int[] windows = spec.slidingWindows();
            assertThat(windows).contains(WINDOW);
            SplittableRandom random = new SplittableRandom(name.hashCode());
            int length = 10 * WINDOW;
            int[] ids = random.ints(length, 0, spec.vocabSize()).toArray();
            // a prompt chunk longer than the window, chunks that straddle the ring's end, then single decode steps
            int[] chunks = {9, 3, 5, 1, 1, 2, 1, 6, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
            assertThat(IntStream.of(chunks).sum()).isEqualTo(length);
            KvCache windowed = model.newCache(length);
            KvCache full = new KvCache(spec.kvDim(), new int[windows.length], length);
            int at = 0;
            for (int chunk : chunks) {
                int[] part = java.util.Arrays.copyOfRange(ids, at, at + chunk);
                float[] expected = model.step(List.of(full), List.of(part));
                float[] actual = model.step(List.of(windowed), List.of(part));
                assertThat(actual)
                        .as("%s, positions %d..%d", name, at, at + chunk - 1)
                        .containsExactly(expected);
                at += chunk;
            }
            long rowBytes = 2L * Float.BYTES * spec.kvDim();
            long expectedBytes = 0;
            for (int l = 0; l < windows.length; l++) {
                int kept = windows[l] > 0 ? WINDOW : length;
                assertThat(windowed.slots(l)).as("layer %d", l).isEqualTo(kept);
                expectedBytes += kept * rowBytes;
            }
            assertThat(windowed.byteSize()).isEqualTo(expectedBytes).isEqualTo(model.kvBytes(length));
            assertThat(full.byteSize()).isEqualTo(windows.length * length * rowBytes);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"mistral_f32_window", "gemma2_f32_softcap_window"})
    void greedyTokensPastTheWindowAreThoseOfAFullCache(String name) {
        try (Model model = Model.load(MODELS.resolve(name), ModelLoadOptions.defaults())) {
            ModelSpec spec = model.spec();
            SplittableRandom random = new SplittableRandom(name.hashCode() + 1L);
            int newTokens = 6 * WINDOW;
            List<int[]> prompts = new ArrayList<>();
            for (int length : new int[] {3, WINDOW, 2 * WINDOW + 1}) {
                prompts.add(random.ints(length, 3, spec.vocabSize()).toArray());
            }
            var results = model.generator(prompts.size())
                    .generate(
                            prompts, Sampling.greedy(newTokens).withIgnoreEos(true), TokenCallback.NONE, Progress.NONE);
            for (int p = 0; p < prompts.size(); p++) {
                assertThat(results.get(p).tokenIds())
                        .as("%s prompt %d", name, p)
                        .containsExactly(greedyOnFullCache(model, prompts.get(p), newTokens));
            }
        }
    }

    /** Greedy decoding, one sequence alone, over a cache that keeps every position of every layer. */
    private static int[] greedyOnFullCache(Model model, int[] prompt, int newTokens) {
        int layers = model.spec().slidingWindows().length;
        KvCache full = new KvCache(model.spec().kvDim(), new int[layers], prompt.length + newTokens);
        int vocab = model.vocabSize();
        int[] generated = new int[newTokens];
        int[] input = prompt;
        for (int t = 0; t < newTokens; t++) {
            float[] logits = model.step(List.of(full), List.of(input));
            int best = 0;
            for (int v = 1; v < vocab; v++) {
                if (logits[v] > logits[best]) {
                    best = v;
                }
            }
            generated[t] = best;
            input = new int[] {best};
        }
        return generated;
    }
}
