package dev.safemerge.model.train;

import java.util.SplittableRandom;

/**
 * One adapted projection, as PEFT's LoRA Linear computes it in training mode:
 * {@code y = x·Wᵀ + b + scale·(dropout(x)·Aᵀ)·Bᵀ} with A [r, in] and B [out, r] in float32 and W frozen in its
 * stored dtype. With {@code --full} W itself is the trainable parameter and there is no LoRA branch. Gradients flow
 * to A, B (or W, b) and to x.
 */
public final class LoraLinear {
    private final int in;
    private final int out;
    private final FrozenMatrix frozenWeight;
    private final Parameter trainableWeight;
    private final float[] frozenBias;
    private final Parameter trainableBias;
    private final Parameter loraA;
    private final Parameter loraB;
    private final float scale;
    private final float dropout;

    private LoraLinear(
            int in,
            int out,
            FrozenMatrix frozenWeight,
            Parameter trainableWeight,
            float[] frozenBias,
            Parameter trainableBias,
            Parameter loraA,
            Parameter loraB,
            float scale,
            float dropout) {
        this.in = in;
        this.out = out;
        this.frozenWeight = frozenWeight;
        this.trainableWeight = trainableWeight;
        this.frozenBias = frozenBias;
        this.trainableBias = trainableBias;
        this.loraA = loraA;
        this.loraB = loraB;
        this.scale = scale;
        this.dropout = dropout;
    }

    /** A frozen projection without an adapter (bias may be null). */
    public static LoraLinear frozen(FrozenMatrix weight, float[] bias) {
        return new LoraLinear(weight.cols(), weight.rows(), weight, null, bias, null, null, null, 0f, 0f);
    }

    /** A frozen projection with LoRA factors A [r, in] and B [out, r]. */
    public static LoraLinear adapted(
            FrozenMatrix weight, float[] bias, Parameter loraA, Parameter loraB, float scale, float dropout) {
        int r = loraA.shape()[0];
        if (loraA.shape()[1] != weight.cols() || loraB.shape()[0] != weight.rows() || loraB.shape()[1] != r) {
            throw new IllegalArgumentException("LoRA factor shapes do not fit " + loraA.name());
        }
        if (!(dropout >= 0f && dropout < 1f)) {
            throw new IllegalArgumentException("dropout must be in [0, 1): " + dropout);
        }
        return new LoraLinear(weight.cols(), weight.rows(), weight, null, bias, null, loraA, loraB, scale, dropout);
    }

    /** A fully trainable projection W [out, in] with an optional trainable bias. */
    public static LoraLinear trainable(Parameter weight, Parameter bias) {
        int[] shape = weight.shape();
        return new LoraLinear(shape[1], shape[0], null, weight, null, bias, null, null, 0f, 0f);
    }

    public int in() {
        return in;
    }

    public int out() {
        return out;
    }

    /** What {@link #backward} needs from the forward pass. */
    public record Cache(float[] x, int tokens, float[] dropoutFactors, float[] loraInput, float[] loraHidden) {}

    /**
     * Computes y [T, out] for x [T, in]. {@code dropoutRandom} draws the dropout mask; null means evaluation mode
     * (no dropout), as in {@code model.eval()}.
     */
    public float[] forward(float[] x, int tokens, SplittableRandom dropoutRandom, Cache[] cacheOut) {
        Gemm.Operand weight = frozenWeight != null ? frozenWeight : trainableWeight.asOperand();
        float[] y = Linear.forward(x, tokens, in, out, weight);
        float[] bias = frozenBias != null ? frozenBias : trainableBias != null ? trainableBias.values() : null;
        if (bias != null) {
            Linear.addBias(y, tokens, bias);
        }
        float[] loraInput = null;
        float[] loraHidden = null;
        float[] dropoutFactors = null;
        if (loraA != null) {
            int r = loraA.shape()[0];
            loraInput = x;
            if (dropoutRandom != null && dropout > 0f) {
                dropoutFactors = dropoutFactors(x.length, dropoutRandom);
                loraInput = new float[x.length];
                for (int i = 0; i < x.length; i++) {
                    loraInput[i] = x[i] * dropoutFactors[i];
                }
            }
            loraHidden = Linear.forward(loraInput, tokens, in, r, loraA.asOperand());
            float[] delta = Linear.forward(loraHidden, tokens, r, out, loraB.asOperand());
            for (int i = 0; i < y.length; i++) {
                y[i] += scale * delta[i];
            }
        }
        if (cacheOut != null) {
            cacheOut[0] = new Cache(x, tokens, dropoutFactors, loraInput, loraHidden);
        }
        return y;
    }

    /** Inverted dropout as torch.nn.Dropout: each element kept with probability 1-p and scaled by 1/(1-p). */
    private float[] dropoutFactors(int count, SplittableRandom random) {
        float keep = 1f - dropout;
        float[] factors = new float[count];
        for (int i = 0; i < count; i++) {
            factors[i] = random.nextFloat() < keep ? 1f / keep : 0f;
        }
        return factors;
    }

    /** Accumulates parameter gradients and returns dx [T, in] for dy [T, out]. */
    public float[] backward(float[] dy, Cache cache) {
        int tokens = cache.tokens();
        float[] dx = new float[tokens * in];
        if (frozenWeight != null) {
            Linear.backwardInput(dy, tokens, in, out, frozenWeight.transposed(), dx);
        } else {
            Linear.backwardInput(dy, tokens, in, out, trainableWeight.asTransposedOperand(), dx);
            Linear.backwardWeight(dy, cache.x(), tokens, in, out, trainableWeight.grad());
            if (trainableBias != null) {
                Linear.backwardBias(dy, tokens, trainableBias.grad());
            }
        }
        if (loraA != null) {
            int r = loraA.shape()[0];
            float[] scaledDy = new float[dy.length];
            for (int i = 0; i < dy.length; i++) {
                scaledDy[i] = scale * dy[i];
            }
            Linear.backwardWeight(scaledDy, cache.loraHidden(), tokens, r, out, loraB.grad());
            float[] dHidden = new float[tokens * r];
            Linear.backwardInput(scaledDy, tokens, r, out, loraB.asTransposedOperand(), dHidden);
            Linear.backwardWeight(dHidden, cache.loraInput(), tokens, in, r, loraA.grad());
            float[] dLoraInput = new float[tokens * in];
            Linear.backwardInput(dHidden, tokens, in, r, loraA.asTransposedOperand(), dLoraInput);
            float[] factors = cache.dropoutFactors();
            for (int i = 0; i < dx.length; i++) {
                dx[i] += factors == null ? dLoraInput[i] : dLoraInput[i] * factors[i];
            }
        }
        return dx;
    }
}
