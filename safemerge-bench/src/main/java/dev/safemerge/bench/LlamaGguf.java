package dev.safemerge.bench;

import dev.safemerge.model.Architecture;
import dev.safemerge.model.ModelSpec;
import dev.safemerge.model.RopeScaling;
import dev.safemerge.model.ops.Rope;
import dev.safemerge.tensor.GgufWriter;
import dev.safemerge.tensor.GgufWriter.Tensor;
import dev.safemerge.tensor.GgufWriter.TensorType;
import dev.safemerge.tensor.ModelDirectory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Writes a Llama-architecture checkpoint (config.json + safetensors) as the GGUF file llama.cpp loads as the same
 * model, as llama.cpp's convert_hf_to_gguf.py lays it out: llama.* hyperparameters, tensors under llama.cpp's names
 * (token_embd, blk.N.attn_q, ..., output_norm; no output tensor when the embeddings are tied, llama.cpp then uses
 * token_embd), 1-D norms and rope factors in F32, the matrices in BF16 or Q8_0.
 *
 * <p>Two conversions make llama.cpp compute the same function. (1) q_proj and k_proj rows are permuted within each
 * head: the checkpoint rotates dimension j with j + head_dim/2 (transformers' rotate_half), llama.cpp's Llama rope
 * rotates adjacent pairs (2j, 2j+1), so row {@code i·head_dim/2 + j} of a head moves to row {@code 2j + i}. (2)
 * llama3 rope scaling is given as {@code rope_freqs.weight}: per frequency, the divisor llama.cpp applies to the
 * unscaled rotation angle, i.e. unscaled ÷ scaled inverse frequency from the engine's own {@link Rope#llama3}.
 *
 * <p>The weights of the benchmark are random and it feeds token ids, so the vocabulary is a placeholder of the
 * model's size in the layout of Llama 2's SentencePiece one: {@code <unk>}, {@code <s>}, {@code </s>}, the 256 byte
 * tokens, then tokens named by their id. (llama.cpp itself accepts {@code tokenizer.ggml.model = "no_vocab"}, but
 * node-llama-cpp asks the tokenizer for pieces when it loads a model, which aborts without one.)
 */
final class LlamaGguf {
    /** llama.h's llama_ftype values written to general.file_type. */
    private static final int FILE_TYPE_BF16 = 32;

    private static final int FILE_TYPE_Q8_0 = 7;

    private LlamaGguf() {}

    /** A GGUF tensor and where its rows come from. */
    private record Source(String checkpointName, boolean ropePaired) {}

    /** Writes {@code modelDir} as {@code file} with its matrices in {@code weights} (BF16 or Q8_0). */
    static void write(Path modelDir, Path file, TensorType weights) {
        ModelSpec spec = ModelSpec.read(modelDir);
        if (spec.architecture() != Architecture.LLAMA || spec.qkvBias() || spec.outputBias() || spec.mlpBias()) {
            throw new IllegalArgumentException(
                    modelDir + ": only Llama checkpoints without biases are written as GGUF");
        }
        RopeScaling rope = spec.rope();
        if (!rope.type().equals("default") && !rope.type().equals("llama3")) {
            throw new IllegalArgumentException(
                    modelDir + ": rope type " + rope.type() + " is not written as GGUF (default and llama3 are)");
        }
        Map<String, Object> metadata = new LinkedHashMap<>();
        metadata.put("general.architecture", "llama");
        metadata.put("general.name", modelDir.getFileName().toString());
        metadata.put("general.file_type", weights == TensorType.Q8_0 ? FILE_TYPE_Q8_0 : FILE_TYPE_BF16);
        metadata.put("llama.vocab_size", spec.vocabSize());
        metadata.put("llama.context_length", spec.maxPositions());
        metadata.put("llama.embedding_length", spec.hiddenSize());
        metadata.put("llama.block_count", spec.layers());
        metadata.put("llama.feed_forward_length", spec.intermediateSize());
        metadata.put("llama.attention.head_count", spec.heads());
        metadata.put("llama.attention.head_count_kv", spec.kvHeads());
        metadata.put("llama.attention.key_length", spec.headDim());
        metadata.put("llama.attention.value_length", spec.headDim());
        metadata.put("llama.attention.layer_norm_rms_epsilon", spec.rmsNormEps());
        metadata.put("llama.rope.freq_base", (float) rope.theta());
        metadata.put("llama.rope.dimension_count", spec.headDim());
        putPlaceholderVocabulary(metadata, spec.vocabSize());

        int hidden = spec.hiddenSize();
        int q = spec.heads() * spec.headDim();
        int kv = spec.kvHeads() * spec.headDim();
        int ffn = spec.intermediateSize();
        List<Tensor> tensors = new ArrayList<>();
        Map<String, Source> sources = new HashMap<>();
        Map<String, float[]> generated = new HashMap<>();
        addTensor(
                tensors,
                sources,
                "token_embd.weight",
                weights,
                "model.embed_tokens.weight",
                false,
                spec.vocabSize(),
                hidden);
        addTensor(tensors, sources, "output_norm.weight", TensorType.F32, "model.norm.weight", false, hidden);
        if (!spec.tiedEmbeddings()) {
            addTensor(tensors, sources, "output.weight", weights, "lm_head.weight", false, spec.vocabSize(), hidden);
        }
        if (rope.type().equals("llama3")) {
            float[] unscaled = Rope.defaultInvFreq(rope.dim(), rope.theta());
            float[] scaled = rope.frequencies(1).invFreq();
            float[] factors = new float[unscaled.length];
            for (int i = 0; i < factors.length; i++) {
                factors[i] = unscaled[i] / scaled[i];
            }
            tensors.add(new Tensor("rope_freqs.weight", TensorType.F32, new long[] {factors.length}));
            generated.put("rope_freqs.weight", factors);
        }
        for (int l = 0; l < spec.layers(); l++) {
            String blk = "blk." + l + ".";
            String hf = "model.layers." + l + ".";
            addTensor(
                    tensors,
                    sources,
                    blk + "attn_norm.weight",
                    TensorType.F32,
                    hf + "input_layernorm.weight",
                    false,
                    hidden);
            addTensor(
                    tensors, sources, blk + "attn_q.weight", weights, hf + "self_attn.q_proj.weight", true, q, hidden);
            addTensor(
                    tensors, sources, blk + "attn_k.weight", weights, hf + "self_attn.k_proj.weight", true, kv, hidden);
            addTensor(
                    tensors,
                    sources,
                    blk + "attn_v.weight",
                    weights,
                    hf + "self_attn.v_proj.weight",
                    false,
                    kv,
                    hidden);
            addTensor(
                    tensors,
                    sources,
                    blk + "attn_output.weight",
                    weights,
                    hf + "self_attn.o_proj.weight",
                    false,
                    hidden,
                    q);
            addTensor(
                    tensors,
                    sources,
                    blk + "ffn_norm.weight",
                    TensorType.F32,
                    hf + "post_attention_layernorm.weight",
                    false,
                    hidden);
            addTensor(
                    tensors,
                    sources,
                    blk + "ffn_gate.weight",
                    weights,
                    hf + "mlp.gate_proj.weight",
                    false,
                    ffn,
                    hidden);
            addTensor(tensors, sources, blk + "ffn_up.weight", weights, hf + "mlp.up_proj.weight", false, ffn, hidden);
            addTensor(
                    tensors,
                    sources,
                    blk + "ffn_down.weight",
                    weights,
                    hf + "mlp.down_proj.weight",
                    false,
                    hidden,
                    ffn);
        }
        int headDim = spec.headDim();
        try (ModelDirectory checkpoint = ModelDirectory.open(modelDir)) {
            for (Map.Entry<String, Source> entry : sources.entrySet()) {
                String name = entry.getValue().checkpointName();
                if (!checkpoint.contains(name)) {
                    throw new IllegalArgumentException(modelDir + ": no tensor " + name + " for " + entry.getKey());
                }
            }
            GgufWriter.write(file, metadata, tensors, (tensor, row, values) -> {
                float[] fixed = generated.get(tensor.name());
                if (fixed != null) {
                    System.arraycopy(fixed, 0, values, 0, values.length);
                    return;
                }
                Source source = sources.get(tensor.name());
                long from = source.ropePaired() ? ropePairedRow(row, headDim) : row;
                checkpoint.readFloats(source.checkpointName(), from * values.length, values, 0, values.length);
            });
        }
    }

    /** A valid SentencePiece ("llama") vocabulary of {@code size} tokens, none of them meaning anything. */
    private static void putPlaceholderVocabulary(Map<String, Object> metadata, int size) {
        String[] tokens = new String[size];
        float[] scores = new float[size];
        int[] types = new int[size];
        // llama_token_type values: 1 normal, 2 unknown, 3 control, 6 byte
        tokens[0] = "<unk>";
        types[0] = 2;
        tokens[1] = "<s>";
        types[1] = 3;
        tokens[2] = "</s>";
        types[2] = 3;
        for (int b = 0; b < 256; b++) {
            tokens[3 + b] = String.format(Locale.ROOT, "<0x%02X>", b);
            types[3 + b] = 6;
        }
        for (int id = 259; id < size; id++) {
            tokens[id] = "▁t" + id;
            types[id] = 1;
            scores[id] = -id;
        }
        metadata.put("tokenizer.ggml.model", "llama");
        metadata.put("tokenizer.ggml.tokens", tokens);
        metadata.put("tokenizer.ggml.scores", scores);
        metadata.put("tokenizer.ggml.token_type", types);
        metadata.put("tokenizer.ggml.unknown_token_id", 0);
        metadata.put("tokenizer.ggml.bos_token_id", 1);
        metadata.put("tokenizer.ggml.eos_token_id", 2);
        metadata.put("tokenizer.ggml.add_bos_token", false);
    }

    /**
     * The checkpoint row that becomes GGUF row {@code row} of a q or k projection: within a head, GGUF row 2j + i
     * holds checkpoint row i·head_dim/2 + j (i ∈ {0, 1}), so the pair llama.cpp rotates together is the pair
     * rotate_half rotates together.
     */
    static long ropePairedRow(long row, int headDim) {
        long head = row / headDim;
        int within = (int) (row % headDim);
        return head * headDim + (long) (within % 2) * (headDim / 2) + within / 2;
    }

    private static void addTensor(
            List<Tensor> tensors,
            Map<String, Source> sources,
            String name,
            TensorType type,
            String checkpointName,
            boolean ropePaired,
            long... shape) {
        tensors.add(new Tensor(name, type, shape));
        sources.put(name, new Source(checkpointName, ropePaired));
    }
}
