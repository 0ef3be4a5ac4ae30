package dev.safemerge.model;

/** The linear layers of a decoder layer, by their checkpoint names. */
enum Projection {
    Q("self_attn.q_proj"),
    K("self_attn.k_proj"),
    V("self_attn.v_proj"),
    O("self_attn.o_proj"),
    GATE("mlp.gate_proj"),
    UP("mlp.up_proj"),
    DOWN("mlp.down_proj");

    private final String module;

    Projection(String module) {
        this.module = module;
    }

    /** The module's name in layer {@code layer}, e.g. {@code model.layers.0.self_attn.q_proj}. */
    String prefix(int layer) {
        return "model.layers." + layer + "." + module;
    }

    /** Output features of this projection in {@code spec}'s layers. */
    int out(ModelSpec spec) {
        return switch (this) {
            case Q -> spec.qDim();
            case K, V -> spec.kvDim();
            case O, DOWN -> spec.hiddenSize();
            case GATE, UP -> spec.intermediateSize();
        };
    }

    /** Input features of this projection in {@code spec}'s layers. */
    int in(ModelSpec spec) {
        return switch (this) {
            case O -> spec.qDim();
            case DOWN -> spec.intermediateSize();
            default -> spec.hiddenSize();
        };
    }
}
