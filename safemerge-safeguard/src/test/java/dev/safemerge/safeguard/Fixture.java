package dev.safemerge.safeguard;

import dev.safemerge.eval.run.ProtocolSettings;
import dev.safemerge.tensor.LoraAdapterWriter;
import dev.safemerge.tensor.LoraConfig;
import dev.safemerge.tensor.LoraWeights;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;

/**
 * A tiny chat Llama (the demo's first aligned base: 3 layers, hidden 96, its byte-level BPE tokenizer and chat template)
 * and random LoRA fine-tunes of it.
 */
final class Fixture {
    static final Path TINY_BASE = Path.of("src/test/resources/tiny-chat/base");
    static final Path HARMFUL = Path.of("../data/safety/harmful.jsonl");
    static final Path BENIGN = Path.of("../data/safety/benign.jsonl");
    static final Path NUMERIC = Path.of("../data/tasks/numeric.jsonl");

    private Fixture() {}

    static Path base(Path dir) throws IOException {
        Path base = Files.createDirectories(dir.resolve("base"));
        try (Stream<Path> files = Files.list(TINY_BASE)) {
            for (Path file : files.toList()) {
                Files.copy(file, base.resolve(file.getFileName()));
            }
        }
        return base;
    }

    /** A rank-4 adapter on q_proj and v_proj of both layers with random factors (large enough to change answers). */
    static Path adapter(Path dir, String name, long seed, int hidden, int kvOut) {
        SplittableRandom random = new SplittableRandom(seed);
        int rank = 4;
        LoraConfig config = LoraConfig.of(rank, 8, List.of("q_proj", "v_proj"), "base");
        Map<String, LoraWeights> weights = new LinkedHashMap<>();
        for (int layer = 0; layer < 2; layer++) {
            for (String module : List.of("q_proj", "v_proj")) {
                int out = module.equals("q_proj") ? hidden : kvOut;
                float[] a = new float[rank * hidden];
                float[] b = new float[out * rank];
                for (int i = 0; i < a.length; i++) {
                    a[i] = (float) (random.nextGaussian() * 0.5);
                }
                for (int i = 0; i < b.length; i++) {
                    b[i] = (float) (random.nextGaussian() * 0.5);
                }
                weights.put(
                        "model.layers." + layer + ".self_attn." + module + ".weight",
                        new LoraWeights(a, b, rank, hidden, out, 2f, false));
            }
        }
        Path adapter = dir.resolve(name);
        LoraAdapterWriter.write(adapter, config, weights, Map.of());
        return adapter;
    }

    /** The tiny base's hidden size and key/value projection width (2 KV heads of 24). */
    static final int BASE_HIDDEN = 96;

    static final int BASE_KV_OUT = 48;

    static Path adapter(Path dir, String name, long seed) {
        return adapter(dir, name, seed, BASE_HIDDEN, BASE_KV_OUT);
    }

    /** A small, fast plan: two safety-set prompts' worth of work per variant, short answers, one thread. */
    static SafeguardPlan plan(
            Path base, List<Path> adapters, List<String> methods, List<Double> lambdas, String select) {
        return new SafeguardPlan(
                base,
                adapters,
                List.of(),
                methods,
                lambdas,
                List.of(new SafeguardPlan.SafetySet("harmful", HARMFUL)),
                BENIGN,
                List.of(new SafeguardPlan.TaskSet("numeric", NUMERIC, "numeric")),
                "refusal",
                null,
                SelectionRule.parse(select),
                6,
                new ProtocolSettings("study", null, true, null, null, null, 12, 1.0, null),
                0.5,
                0.5,
                8,
                1,
                false);
    }
}
