package dev.safemerge.model.train;

import dev.safemerge.tensor.kernel.KernelPool;
import dev.safemerge.tensor.kernel.KernelProvider;
import dev.safemerge.tensor.kernel.KernelSpecies;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * The one matrix product training needs: {@code C[m,n] += A[m,k] · B[k,n]} with B and C row-major float32 and A
 * read through an {@link Operand} (any dtype or layout, packed into float32 blocks). Every linear layer's forward,
 * input gradient and weight gradient is this product after transposing the activations, see {@link Linear}.
 *
 * <p>Row blocks are split over the shared {@link KernelPool}; each element of C is summed by one thread in a fixed
 * order, so results do not depend on the thread count.
 * {@link #mulAddScalar} is the plain-loop twin that tests compare against.
 */
public final class Gemm {
    private Gemm() {}

    static final VectorSpecies<Float> SPECIES = KernelSpecies.FLOATS;
    static final int LANES = SPECIES.length();
    /** Rows of A per micro-kernel. */
    static final int MR = 4;
    /** Columns of B per micro-kernel: three vectors. */
    static final int NR = 3 * LANES;
    /** B columns per pass, so that a k×NC block of B stays in the L2 cache while rows of A stream past it. */
    private static final int L2_FLOATS = 1 << 17;

    /** A left operand: copies a block of itself into {@code dst} as [colCount][MR], padding missing rows with 0. */
    public interface Operand {
        void pack(int row0, int rowCount, int col0, int colCount, float[] dst);
    }

    /** A float32 array viewed as a matrix with element (i, p) at {@code offset + i*rowStride + p*colStride}. */
    public record Strided(float[] values, int offset, int rowStride, int colStride) implements Operand {
        public static Strided rowMajor(float[] values, int cols) {
            return new Strided(values, 0, cols, 1);
        }

        public static Strided transposed(float[] values, int cols) {
            return new Strided(values, 0, 1, cols);
        }

        @Override
        public void pack(int row0, int rowCount, int col0, int colCount, float[] dst) {
            for (int p = 0; p < colCount; p++) {
                int base = offset + (col0 + p) * colStride;
                int out = p * MR;
                for (int i = 0; i < rowCount; i++) {
                    dst[out + i] = values[base + (row0 + i) * rowStride];
                }
                for (int i = rowCount; i < MR; i++) {
                    dst[out + i] = 0f;
                }
            }
        }
    }

    /** {@code C[m,n] += A[m,k] · B[k,n]}; B has row stride {@code ldb}, C row stride {@code ldc}. */
    public static void mulAdd(int m, int n, int k, Operand a, float[] b, int ldb, float[] c, int ldc) {
        if (m == 0 || n == 0 || k == 0) {
            return;
        }
        if (!KernelProvider.get().vector()) {
            mulAddScalar(m, n, k, a, b, ldb, c, ldc);
            return;
        }
        int rowBlocks = (m + MR - 1) / MR;
        int chunk = Math.max(NR, (L2_FLOATS / k) / NR * NR);
        KernelPool.forRanges(rowBlocks, (long) MR * n * k, (start, end) -> {
            float[] packed = new float[k * MR];
            for (int block = start; block < end; block++) {
                rowBlock(block, m, n, k, a, b, ldb, c, ldc, chunk, packed);
            }
        });
    }

    private static void rowBlock(
            int block, int m, int n, int k, Operand a, float[] b, int ldb, float[] c, int ldc, int chunk, float[] ap) {
        int row0 = block * MR;
        int rows = Math.min(MR, m - row0);
        a.pack(row0, rows, 0, k, ap);
        for (int col0 = 0; col0 < n; col0 += chunk) {
            int colEnd = Math.min(n, col0 + chunk);
            int j = col0;
            if (rows == MR) {
                for (; j + NR <= colEnd; j += NR) {
                    kernel4x3(k, ap, b, j, ldb, c, row0 * ldc + j, ldc);
                }
            }
            for (; j < colEnd; j += LANES) {
                VectorMask<Float> mask = SPECIES.indexInRange(j, colEnd);
                kernelMasked(k, ap, rows, b, j, ldb, c, row0 * ldc + j, ldc, mask);
            }
        }
    }

    private static void kernel4x3(int k, float[] ap, float[] b, int bOff, int ldb, float[] c, int cOff, int ldc) {
        FloatVector c00 = FloatVector.zero(SPECIES), c01 = c00, c02 = c00;
        FloatVector c10 = c00, c11 = c00, c12 = c00;
        FloatVector c20 = c00, c21 = c00, c22 = c00;
        FloatVector c30 = c00, c31 = c00, c32 = c00;
        for (int p = 0, bp = bOff, pa = 0; p < k; p++, bp += ldb, pa += MR) {
            FloatVector b0 = FloatVector.fromArray(SPECIES, b, bp);
            FloatVector b1 = FloatVector.fromArray(SPECIES, b, bp + LANES);
            FloatVector b2 = FloatVector.fromArray(SPECIES, b, bp + 2 * LANES);
            FloatVector a0 = FloatVector.broadcast(SPECIES, ap[pa]);
            c00 = b0.fma(a0, c00);
            c01 = b1.fma(a0, c01);
            c02 = b2.fma(a0, c02);
            FloatVector a1 = FloatVector.broadcast(SPECIES, ap[pa + 1]);
            c10 = b0.fma(a1, c10);
            c11 = b1.fma(a1, c11);
            c12 = b2.fma(a1, c12);
            FloatVector a2 = FloatVector.broadcast(SPECIES, ap[pa + 2]);
            c20 = b0.fma(a2, c20);
            c21 = b1.fma(a2, c21);
            c22 = b2.fma(a2, c22);
            FloatVector a3 = FloatVector.broadcast(SPECIES, ap[pa + 3]);
            c30 = b0.fma(a3, c30);
            c31 = b1.fma(a3, c31);
            c32 = b2.fma(a3, c32);
        }
        addTo(c, cOff, c00, c01, c02);
        addTo(c, cOff + ldc, c10, c11, c12);
        addTo(c, cOff + 2 * ldc, c20, c21, c22);
        addTo(c, cOff + 3 * ldc, c30, c31, c32);
    }

    private static void addTo(float[] c, int off, FloatVector v0, FloatVector v1, FloatVector v2) {
        FloatVector.fromArray(SPECIES, c, off).add(v0).intoArray(c, off);
        FloatVector.fromArray(SPECIES, c, off + LANES).add(v1).intoArray(c, off + LANES);
        FloatVector.fromArray(SPECIES, c, off + 2 * LANES).add(v2).intoArray(c, off + 2 * LANES);
    }

    private static void kernelMasked(
            int k,
            float[] ap,
            int rows,
            float[] b,
            int bOff,
            int ldb,
            float[] c,
            int cOff,
            int ldc,
            VectorMask<Float> mask) {
        FloatVector c0 = FloatVector.zero(SPECIES), c1 = c0, c2 = c0, c3 = c0;
        for (int p = 0, bp = bOff, pa = 0; p < k; p++, bp += ldb, pa += MR) {
            FloatVector bv = FloatVector.fromArray(SPECIES, b, bp, mask);
            c0 = bv.fma(FloatVector.broadcast(SPECIES, ap[pa]), c0);
            c1 = bv.fma(FloatVector.broadcast(SPECIES, ap[pa + 1]), c1);
            c2 = bv.fma(FloatVector.broadcast(SPECIES, ap[pa + 2]), c2);
            c3 = bv.fma(FloatVector.broadcast(SPECIES, ap[pa + 3]), c3);
        }
        FloatVector[] acc = {c0, c1, c2, c3};
        for (int i = 0; i < rows; i++) {
            int off = cOff + i * ldc;
            FloatVector.fromArray(SPECIES, c, off, mask).add(acc[i]).intoArray(c, off, mask);
        }
    }

    /** The plain-loop twin of {@link #mulAdd}, accumulating each element in the same order (p ascending). */
    public static void mulAddScalar(int m, int n, int k, Operand a, float[] b, int ldb, float[] c, int ldc) {
        float[] ap = new float[Math.max(1, k) * MR];
        for (int row0 = 0; row0 < m; row0 += MR) {
            int rows = Math.min(MR, m - row0);
            a.pack(row0, rows, 0, k, ap);
            for (int i = 0; i < rows; i++) {
                for (int j = 0; j < n; j++) {
                    float sum = 0f;
                    for (int p = 0; p < k; p++) {
                        sum = Math.fma(ap[p * MR + i], b[p * ldb + j], sum);
                    }
                    c[(row0 + i) * ldc + j] += sum;
                }
            }
        }
    }

    /** Returns the [cols, rows] transpose of a [rows, cols] row-major block. */
    public static float[] transpose(float[] x, int rows, int cols) {
        float[] out = new float[x.length];
        for (int r0 = 0; r0 < rows; r0 += 32) {
            for (int c0 = 0; c0 < cols; c0 += 32) {
                int rEnd = Math.min(rows, r0 + 32), cEnd = Math.min(cols, c0 + 32);
                for (int r = r0; r < rEnd; r++) {
                    for (int col = c0; col < cEnd; col++) {
                        out[col * rows + r] = x[r * cols + col];
                    }
                }
            }
        }
        return out;
    }
}
