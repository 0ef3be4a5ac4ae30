package dev.safemerge.model;

/**
 * A LoRA update of one linear weight [out, in]: {@code ΔW = scale · B·A} with A [rank, in] and B [out, rank], both
 * row-major float32.
 */
record LowRankDelta(float[] a, float[] b, int rank, int in, int out, float scale) {
    LowRankDelta {
        if (a.length != rank * in || b.length != out * rank) {
            throw new IllegalArgumentException("LoRA shapes do not match rank " + rank + ", in " + in + ", out " + out);
        }
    }

    /** Adds row {@code r} of ΔW to {@code row}. */
    void addRow(int r, float[] row) {
        for (int k = 0; k < rank; k++) {
            float coefficient = scale * b[r * rank + k];
            if (coefficient == 0) {
                continue;
            }
            for (int c = 0; c < in; c++) {
                row[c] += coefficient * a[k * in + c];
            }
        }
    }
}
