package dev.safemerge.model;

import dev.safemerge.tensor.kernel.Kernels;
import dev.safemerge.tensor.kernel.Matrix;

/** A linear layer {@code y = x·Wᵀ + b} of the base weights; adapters are added by {@link AdapterRows}. */
final class Linear {
    private final Matrix weight;
    private final float[] bias;

    Linear(Matrix weight, float[] bias) {
        this.weight = weight;
        this.bias = bias;
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

    /** Bytes read from memory per use: the weights and bias. */
    long byteSize() {
        long bytes = weight.byteSize();
        if (bias != null) {
            bytes += 4L * bias.length;
        }
        return bytes;
    }

    /** {@code out[rows, out] = x[rows, in]·Wᵀ + b}. */
    void forward(float[] x, int rows, float[] out) {
        Kernels.get().matmul(weight, x, rows, out);
        addBias(rows, out);
    }

    /** {@link #forward} of layers with the same input over the same rows, their products as one job of the pool. */
    static void forward(Linear[] linears, float[] x, int rows, float[][] outs) {
        Matrix[] weights = new Matrix[linears.length];
        for (int i = 0; i < linears.length; i++) {
            weights[i] = linears[i].weight;
        }
        Kernels.get().matmul(weights, x, rows, outs);
        for (int i = 0; i < linears.length; i++) {
            linears[i].addBias(rows, outs[i]);
        }
    }

    private void addBias(int rows, float[] out) {
        int outDim = out();
        if (bias != null) {
            for (int r = 0; r < rows; r++) {
                for (int o = 0; o < outDim; o++) {
                    out[r * outDim + o] += bias[o];
                }
            }
        }
    }
}
