package dev.safemerge.model.ops;

import dev.safemerge.tensor.BadInputException;
import dev.safemerge.tensor.kernel.Kernels;

/** The gate activations of the supported MLPs, by their HF names. */
public enum Activation {
    /** {@code x·sigmoid(x)}: "silu" (also spelled "swish"). */
    SILU,
    /** The tanh approximation of GELU: "gelu_pytorch_tanh" (also "gelu_new", "gelu_fast"). */
    GELU_TANH,
    /** The exact erf-based GELU: "gelu". */
    GELU;

    public float apply(float x) {
        return switch (this) {
            case SILU -> x / (1f + (float) Math.exp(-x));
            case GELU_TANH -> {
                double inner = Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x);
                yield (float) (0.5 * x * (1 + Math.tanh(inner)));
            }
            case GELU -> (float) (0.5 * x * Erf.erfc(-x / Math.sqrt(2)));
        };
    }

    /**
     * Gated MLP middle: {@code gate[i] = act(gate[i]) · up[i]} for i in [offset, offset+n), with {@link #apply}'s
     * arithmetic: the reference that training uses, since {@link #gateBackward} differentiates exactly this.
     */
    public void gate(float[] gate, float[] up, int offset, int n) {
        for (int i = offset; i < offset + n; i++) {
            gate[i] = apply(gate[i]) * up[i];
        }
    }

    /**
     * {@link #gate} for inference: SiLU through the kernels' float exponential ({@link Kernels#siluGate}, within 2^-21
     * relative of {@link #apply}), the other activations as {@link #gate}. Training keeps {@link #gate}, so that a
     * faster kernel never changes what a seed trains.
     */
    public void gateFast(float[] gate, float[] up, int offset, int n) {
        if (this == SILU) {
            Kernels.get().siluGate(gate, up, offset, n);
        } else {
            gate(gate, up, offset, n);
        }
    }

    /** {@code d act(x) / dx}. */
    public float derivative(float x) {
        return switch (this) {
            case SILU -> {
                double sigmoid = 1 / (1 + Math.exp(-x));
                yield (float) (sigmoid * (1 + x * (1 - sigmoid)));
            }
            case GELU_TANH -> {
                double c = Math.sqrt(2 / Math.PI);
                double tanh = Math.tanh(c * (x + 0.044715 * x * x * x));
                yield (float) (0.5 * (1 + tanh) + 0.5 * x * (1 - tanh * tanh) * c * (1 + 3 * 0.044715 * x * x));
            }
            case GELU ->
                (float) (0.5 * Erf.erfc(-x / Math.sqrt(2)) + x * Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI));
        };
    }

    /**
     * Gradient of {@link #gate} for i in [offset, offset+n): given the gate pre-activations and up values of the
     * forward pass and {@code dOut}, writes {@code dGate = dOut·up·act'(gate)} and {@code dUp = dOut·act(gate)}.
     */
    public void gateBackward(float[] gate, float[] up, float[] dOut, float[] dGate, float[] dUp, int offset, int n) {
        for (int i = offset; i < offset + n; i++) {
            dGate[i] = dOut[i] * up[i] * derivative(gate[i]);
            dUp[i] = dOut[i] * apply(gate[i]);
        }
    }

    /** Resolves an HF activation name; {@code source} names the file and key for the error message. */
    public static Activation fromHfName(String name, String source) {
        return switch (name) {
            case "silu", "swish" -> SILU;
            case "gelu_pytorch_tanh", "gelu_new", "gelu_fast" -> GELU_TANH;
            case "gelu" -> GELU;
            default ->
                throw new BadInputException(
                        source + ": unsupported activation '" + name + "' (supported: silu, gelu_pytorch_tanh, gelu)");
        };
    }

    /**
     * erfc(z) by the Chebyshev fit of Numerical Recipes (erfcc), fractional error below 1.2e-7 everywhere: well inside
     * float precision, and Java has no erf of its own. GELU uses {@code 1 + erf(x) = erfc(-x)}, which keeps full
     * relative precision in the negative tail.
     */
    static final class Erf {
        private Erf() {}

        static double erfc(double z) {
            double a = Math.abs(z);
            double t = 1.0 / (1.0 + 0.5 * a);
            double poly = -a * a
                    - 1.26551223
                    + t
                            * (1.00002368
                                    + t
                                            * (0.37409196
                                                    + t
                                                            * (0.09678418
                                                                    + t
                                                                            * (-0.18628806
                                                                                    + t
                                                                                            * (0.27886807
                                                                                                    + t
                                                                                                            * (-1.13520398
                                                                                                                    + t
                                                                                                                            * (1.48851587
                                                                                                                                    + t
                                                                                                                                            * (-0.82215223
                                                                                                                                                    + t
                                                                                                                                                            * 0.17087277))))))));
            double value = t * Math.exp(poly);
            return z >= 0 ? value : 2.0 - value;
        }
    }
}
