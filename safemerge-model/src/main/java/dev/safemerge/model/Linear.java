package dev.safemerge.model;

import dev.safemerge.tensor.kernel.Kernels;
import dev.safemerge.tensor.kernel.Matrix;

/**
 * A linear layer {@code y = x·Wᵀ + b}, optionally with an unmerged LoRA adapter added as {@code scale·(x·Aᵀ)·Bᵀ}
 * (A [r, in] and B [out, r] in float32, as PEFT computes adapters of half-precision models).
 */
final class Linear {
    private final Matrix weight;
    private final float[] bias;
    private final Matrix loraA;
    private final Matrix loraB;
    private final float loraScale;

    Linear(Matrix weight, float[] bias, Matrix loraA, Matrix loraB, float loraScale) {
        this.weight = weight;
        this.bias = bias;
        this.loraA = loraA;
        this.loraB = loraB;
        this.loraScale = loraScale;
    }

    Matrix weight() {
        return weight;
    }

    int in() {
        return weight.cols();
    }

    int out() {
        return weight.rows();
    }

    boolean hasUnmergedAdapter() {
        return loraA != null;
    }

    /** Bytes read from memory per use: the weights, plus bias and adapter. */
    long byteSize() {
        long bytes = weight.byteSize();
        if (bias != null) {
            bytes += 4L * bias.length;
        }
        if (loraA != null) {
            bytes += loraA.byteSize() + loraB.byteSize();
        }
        return bytes;
    }

    /** {@code out[rows, out] = x[rows, in]·Wᵀ + b (+ adapter)}. */
    void forward(float[] x, int rows, float[] out) {
        Kernels kernels = Kernels.get();
        kernels.matmul(weight, x, rows, out);
        int outDim = out();
        if (bias != null) {
            for (int r = 0; r < rows; r++) {
                for (int o = 0; o < outDim; o++) {
                    out[r * outDim + o] += bias[o];
                }
            }
        }
        if (loraA != null) {
            float[] down = new float[rows * loraA.rows()];
            kernels.matmul(loraA, x, rows, down);
            float[] up = new float[rows * outDim];
            kernels.matmul(loraB, down, rows, up);
            for (int i = 0; i < rows * outDim; i++) {
                out[i] += loraScale * up[i];
            }
        }
    }
}
