package dev.safemerge.model.train;

import java.util.Arrays;

/**
 * A trainable float32 tensor with its gradient accumulator. {@code name} is the tensor's name in the file it is
 * saved to (a PEFT key for LoRA factors, an HF key for full fine-tuning).
 */
public final class Parameter {
    private final String name;
    private final int[] shape;
    private final float[] values;
    private final float[] grad;

    public Parameter(String name, float[] values, int... shape) {
        long count = 1;
        for (int dim : shape) {
            count *= dim;
        }
        if (count != values.length) {
            throw new IllegalArgumentException(name + ": shape " + Arrays.toString(shape) + " given " + values.length);
        }
        this.name = name;
        this.shape = shape.clone();
        this.values = values;
        this.grad = new float[values.length];
    }

    public String name() {
        return name;
    }

    public int[] shape() {
        return shape.clone();
    }

    public float[] values() {
        return values;
    }

    public float[] grad() {
        return grad;
    }

    public int size() {
        return values.length;
    }

    public void zeroGrad() {
        Arrays.fill(grad, 0f);
    }

    /** The weight as the left operand of a product, as stored ([rows, cols]) or transposed. */
    Gemm.Operand asOperand() {
        return Gemm.Strided.rowMajor(values, shape[shape.length - 1]);
    }

    Gemm.Operand asTransposedOperand() {
        return Gemm.Strided.transposed(values, shape[shape.length - 1]);
    }
}
