package dev.safemerge.model.train;

import static org.assertj.core.api.Assertions.assertThat;

import dev.safemerge.tensor.DType;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class GemmTest {
    @ParameterizedTest
    @CsvSource({"1,1,1", "4,48,16", "5,49,3", "13,100,37", "64,200,96", "130,47,260", "3,7,1000", "9,150,3000"})
    void vectorKernelEqualsScalarTwinBitForBit(int m, int n, int k) {
        SplittableRandom random = new SplittableRandom(m * 1000L + n * 10L + k);
        float[] a = GradCheck.gaussian(m * k, 1, random);
        float[] b = GradCheck.gaussian(k * n, 1, random);
        float[] c0 = GradCheck.gaussian(m * n, 1, random);
        float[] vector = c0.clone();
        float[] scalar = c0.clone();
        Gemm.mulAdd(m, n, k, Gemm.Strided.rowMajor(a, k), b, n, vector, n);
        Gemm.mulAddScalar(m, n, k, Gemm.Strided.rowMajor(a, k), b, n, scalar, n);
        assertThat(vector).containsExactly(scalar);
        for (int i = 0; i < m; i += Math.max(1, m / 3)) {
            for (int j = 0; j < n; j += Math.max(1, n / 3)) {
                double expected = c0[i * n + j];
                for (int p = 0; p < k; p++) {
                    expected += (double) a[i * k + p] * b[p * n + j];
                }
                assertThat((double) vector[i * n + j])
                        .isCloseTo(expected, org.assertj.core.data.Offset.offset(1e-4 * Math.sqrt(k)));
            }
        }
    }

    @ParameterizedTest
    @CsvSource({"F32", "BF16", "F16"})
    void frozenMatrixPacksAsStoredAndTransposed(DType dtype) {
        SplittableRandom random = new SplittableRandom(7);
        int rows = 9;
        int cols = 6;
        FrozenMatrix w = FrozenMatrix.encode(rows, cols, GradCheck.gaussian(rows * cols, 1, random), dtype);
        float[] decoded = w.toFloats();
        float[] x = GradCheck.gaussian(cols * 5, 1, random);
        float[] direct = new float[rows * 5];
        Gemm.mulAdd(rows, 5, cols, w, x, 5, direct, 5);
        float[] expected = new float[rows * 5];
        Gemm.mulAddScalar(rows, 5, cols, Gemm.Strided.rowMajor(decoded, cols), x, 5, expected, 5);
        assertThat(direct).containsExactly(expected);

        float[] y = GradCheck.gaussian(rows * 4, 1, random);
        float[] viaTranspose = new float[cols * 4];
        Gemm.mulAdd(cols, 4, rows, w.transposed(), y, 4, viaTranspose, 4);
        float[] transposedExpected = new float[cols * 4];
        Gemm.mulAddScalar(
                cols,
                4,
                rows,
                Gemm.Strided.rowMajor(Gemm.transpose(decoded, rows, cols), rows),
                y,
                4,
                transposedExpected,
                4);
        assertThat(viaTranspose).containsExactly(transposedExpected);
    }
}
