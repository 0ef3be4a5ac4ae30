package dev.safemerge.bench;

import static org.assertj.core.api.Assertions.assertThat;

import dev.safemerge.model.ops.Rope;
import java.util.Random;
import org.junit.jupiter.api.Test;

class LlamaGgufTest {
    /**
     * The row order written for q and k makes llama.cpp's rope (adjacent pairs 2j, 2j+1 rotated by frequency j, as
     * ggml's normal rope mode does, written out below) give the engine's rope (rotate_half: j with j + dim/2) up to
     * the same reordering, so every q·k, and with it attention, is unchanged. Two heads, so the mapping must also
     * stay within its head.
     */
    @Test
    void permutedRowsRotatedAsAdjacentPairsEqualTheCheckpointRotatedAsHalves() {
        int headDim = 8;
        int heads = 2;
        Random random = new Random(19);
        float[] q = new float[heads * headDim];
        for (int i = 0; i < q.length; i++) {
            q[i] = random.nextFloat() * 2 - 1;
        }
        float[] permuted = new float[q.length];
        for (int row = 0; row < q.length; row++) {
            permuted[row] = q[(int) LlamaGguf.ropePairedRow(row, headDim)];
        }
        float[] cos = new float[headDim / 2];
        float[] sin = new float[headDim / 2];
        Rope.table(Rope.unscaled(headDim, 10000), 5, cos, sin);

        float[] engine = q.clone();
        for (int h = 0; h < heads; h++) {
            Rope.rotate(engine, h * headDim, cos, sin);
        }
        float[] adjacent = permuted.clone();
        for (int h = 0; h < heads; h++) {
            for (int j = 0; j < headDim / 2; j++) {
                int even = h * headDim + 2 * j;
                float a = adjacent[even];
                float b = adjacent[even + 1];
                adjacent[even] = a * cos[j] - b * sin[j];
                adjacent[even + 1] = a * sin[j] + b * cos[j];
            }
        }
        for (int row = 0; row < q.length; row++) {
            // the same float operations on the same operands: equal bit for bit
            assertThat(adjacent[row]).as("row %d", row).isEqualTo(engine[(int) LlamaGguf.ropePairedRow(row, headDim)]);
        }
        // the mapping is a permutation within each head: head 1's row 2·1 + 1 comes from its row 4 + 1
        assertThat(LlamaGguf.ropePairedRow(headDim + 3, headDim)).isEqualTo(headDim + 4 + 1);
    }
}
