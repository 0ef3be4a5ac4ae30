package dev.safemerge.merge;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What a tensor name says about its role: transformer-layer tensors ({@code model.layers.7.mlp.up_proj.weight})
 * versus pre-weights (embeddings) and post-weights (final norm, {@code lm_head}), and which tensors are
 * vocabulary-sized embeddings. mergekit takes these from per-architecture files; the naming conventions of HF
 * decoder models carry the same information.
 */
public final class TensorNames {
    private static final Pattern LAYER = Pattern.compile("^(.*?\\.(?:layers|h|blocks|layer)\\.)(\\d+)(\\..+)$");
    public static final String LM_HEAD = "lm_head.weight";

    private TensorNames() {}

    /** A layer tensor split around its layer index. */
    public record LayerName(String prefix, int index, String suffix) {
        public String withIndex(int layer) {
            return prefix + layer + suffix;
        }
    }

    /** The layer name parts, or null for a tensor outside the layer stack. */
    public static LayerName parseLayer(String name) {
        Matcher matcher = LAYER.matcher(name);
        if (!matcher.matches() || matcher.group(2).length() > 6) {
            return null;
        }
        return new LayerName(matcher.group(1), Integer.parseInt(matcher.group(2)), matcher.group(3));
    }

    /** Input embeddings, merged with the first slice's sources. */
    public static boolean isInputEmbedding(String name) {
        return name.contains("embed_tokens")
                || name.endsWith("wte.weight")
                || name.contains("embed_in")
                || name.contains("word_embeddings");
    }

    /** Vocabulary-sized matrices whose row count may differ between models. */
    public static boolean isEmbedding(String name) {
        return isInputEmbedding(name)
                || name.equals(LM_HEAD)
                || name.endsWith(".lm_head.weight")
                || name.contains("embed_out");
    }
}
