package dev.safemerge.model.train;

import dev.safemerge.model.ops.Activation;
import dev.safemerge.model.ops.Rope;
import dev.safemerge.tensor.BadInputException;
import dev.safemerge.tensor.DType;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/** Small random decoders of each architecture, held in memory, for gradient checks and training tests. */
final class TinyModels {
    private TinyModels() {}

    enum Arch {
        LLAMA,
        QWEN2,
        MISTRAL,
        GEMMA,
        GEMMA2
    }

    record Tiny(Arch arch, Traits traits, Map<String, float[]> tensors, Map<String, int[]> shapes, DType dtype) {
        WeightSource weights() {
            return new WeightSource() {
                @Override
                public boolean contains(String name) {
                    return tensors.containsKey(name);
                }

                @Override
                public FrozenMatrix matrix(String name, int rows, int cols) {
                    float[] values = get(name, (long) rows * cols);
                    return FrozenMatrix.encode(rows, cols, values, dtype);
                }

                @Override
                public float[] vector(String name, int length) {
                    return get(name, length).clone();
                }

                private float[] get(String name, long count) {
                    float[] values = tensors.get(name);
                    if (values == null || values.length != count) {
                        throw new BadInputException("tiny model: no tensor " + name + " of " + count + " values");
                    }
                    return values;
                }
            };
        }
    }

    static Tiny create(Arch arch, long seed) {
        return create(arch, seed, 40, 16, 24, 2, DType.F32);
    }

    static Tiny create(Arch arch, long seed, int vocab, int hidden, int intermediate, int layers, DType dtype) {
        boolean gemma = arch == Arch.GEMMA || arch == Arch.GEMMA2;
        int heads = 4;
        int kvHeads = arch == Arch.GEMMA ? 1 : 2;
        int headDim = gemma ? hidden / 2 : hidden / heads;
        int[] windows = new int[layers];
        for (int i = 0; i < layers; i++) {
            windows[i] = switch (arch) {
                case MISTRAL -> 3;
                case GEMMA2 -> i % 2 == 0 ? 3 : 0;
                default -> 0;
            };
        }
        float embedScale = gemma ? (float) Math.sqrt(hidden) : 1f;
        Traits traits = new Traits(
                vocab,
                hidden,
                intermediate,
                layers,
                heads,
                kvHeads,
                headDim,
                1e-5f,
                gemma,
                embedScale,
                gemma ? Activation.GELU_TANH : Activation.SILU,
                arch == Arch.QWEN2,
                false,
                false,
                arch == Arch.GEMMA2,
                (float) (1 / Math.sqrt(arch == Arch.GEMMA2 ? 12.0 : headDim)),
                arch == Arch.GEMMA2 ? 2f : 0f,
                arch == Arch.GEMMA2 ? 3f : 0f,
                windows,
                Rope.unscaled(headDim, 10000),
                gemma);
        SplittableRandom random = new SplittableRandom(seed);
        Map<String, float[]> tensors = new LinkedHashMap<>();
        Map<String, int[]> shapes = new LinkedHashMap<>();
        put(tensors, shapes, "model.embed_tokens.weight", random, 0.5, 0, vocab, hidden);
        for (int i = 0; i < layers; i++) {
            String l = "model.layers." + i;
            put(tensors, shapes, l + ".input_layernorm.weight", random, 0.1, gemma ? 0 : 1, hidden);
            put(tensors, shapes, l + ".post_attention_layernorm.weight", random, 0.1, gemma ? 0 : 1, hidden);
            if (arch == Arch.GEMMA2) {
                put(tensors, shapes, l + ".pre_feedforward_layernorm.weight", random, 0.1, 0, hidden);
                put(tensors, shapes, l + ".post_feedforward_layernorm.weight", random, 0.1, 0, hidden);
            }
            double ws = 1 / Math.sqrt(hidden);
            put(tensors, shapes, l + ".self_attn.q_proj.weight", random, ws, 0, heads * headDim, hidden);
            put(tensors, shapes, l + ".self_attn.k_proj.weight", random, ws, 0, kvHeads * headDim, hidden);
            put(tensors, shapes, l + ".self_attn.v_proj.weight", random, ws, 0, kvHeads * headDim, hidden);
            if (arch == Arch.QWEN2) {
                put(tensors, shapes, l + ".self_attn.q_proj.bias", random, 0.1, 0, heads * headDim);
                put(tensors, shapes, l + ".self_attn.k_proj.bias", random, 0.1, 0, kvHeads * headDim);
                put(tensors, shapes, l + ".self_attn.v_proj.bias", random, 0.1, 0, kvHeads * headDim);
            }
            put(
                    tensors,
                    shapes,
                    l + ".self_attn.o_proj.weight",
                    random,
                    1 / Math.sqrt(heads * headDim),
                    0,
                    hidden,
                    heads * headDim);
            put(tensors, shapes, l + ".mlp.gate_proj.weight", random, ws, 0, intermediate, hidden);
            put(tensors, shapes, l + ".mlp.up_proj.weight", random, ws, 0, intermediate, hidden);
            put(
                    tensors,
                    shapes,
                    l + ".mlp.down_proj.weight",
                    random,
                    1 / Math.sqrt(intermediate),
                    0,
                    hidden,
                    intermediate);
        }
        put(tensors, shapes, "model.norm.weight", random, 0.1, gemma ? 0 : 1, hidden);
        if (!gemma) {
            put(tensors, shapes, "lm_head.weight", random, 1 / Math.sqrt(hidden), 0, vocab, hidden);
        }
        return new Tiny(arch, traits, tensors, shapes, dtype);
    }

    private static void put(
            Map<String, float[]> tensors,
            Map<String, int[]> shapes,
            String name,
            SplittableRandom random,
            double sigma,
            double mean,
            int... shape) {
        int count = 1;
        for (int d : shape) {
            count *= d;
        }
        float[] values = new float[count];
        for (int i = 0; i < count; i++) {
            values[i] = (float) (mean + sigma * random.nextGaussian());
        }
        tensors.put(name, values);
        shapes.put(name, shape);
    }
}
