package dev.safemerge.model;

import dev.safemerge.tensor.kernel.Kernels;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * The rows of one forward step grouped by the adapter they run with, as multi-LoRA servers batch them: the base
 * product covers every row at once, then each adapter's low-rank product runs over the rows of its group only, each
 * row at its own scale. A row's result is the same whatever else is in the batch: the kernels compute every row
 * with the same arithmetic, whatever the number of rows.
 */
final class AdapterRows {
    /** The rows of one adapter, with the scale each runs at. */
    private record Group(Adapter adapter, int[] rows, float[] scales) {}

    private static final AdapterRows NONE = new AdapterRows(List.of());

    private final List<Group> groups;

    private AdapterRows(List<Group> groups) {
        this.groups = groups;
    }

    /**
     * @param rowAdapter the adapter of each row (null for none)
     * @param rowScale the scale of each row's adapter
     */
    static AdapterRows of(Adapter[] rowAdapter, float[] rowScale) {
        Map<Adapter, List<Integer>> byAdapter = new IdentityHashMap<>();
        List<Adapter> order = new ArrayList<>();
        for (int r = 0; r < rowAdapter.length; r++) {
            if (rowAdapter[r] != null) {
                byAdapter
                        .computeIfAbsent(rowAdapter[r], a -> {
                            order.add(a);
                            return new ArrayList<>();
                        })
                        .add(r);
            }
        }
        if (order.isEmpty()) {
            return NONE;
        }
        List<Group> groups = new ArrayList<>();
        for (Adapter adapter : order) {
            List<Integer> rows = byAdapter.get(adapter);
            int[] indices = rows.stream().mapToInt(Integer::intValue).toArray();
            float[] scales = new float[indices.length];
            for (int i = 0; i < indices.length; i++) {
                scales[i] = rowScale[indices[i]];
            }
            groups.add(new Group(adapter, indices, scales));
        }
        return new AdapterRows(groups);
    }

    /** Adds each group's {@code scale·peftScale·(x·Aᵀ)·Bᵀ} of projection {@code p} to its rows of {@code out}. */
    void add(int layer, Projection p, float[] x, int in, float[] out, int outDim) {
        for (Group group : groups) {
            Adapter.LowRank lowRank = group.adapter().lowRank(layer, p);
            if (lowRank != null) {
                addLowRank(lowRank, group.rows(), group.scales(), x, in, out, outDim);
            }
        }
    }

    /**
     * Adds {@code scales[i]·peftScale·(x·Aᵀ)·Bᵀ} to row {@code rows[i]} of {@code out} ([rows, outDim]), computing the
     * low-rank product over those rows of {@code x} ([rows, in]) only.
     */
    static void addLowRank(
            Adapter.LowRank lowRank, int[] rows, float[] scales, float[] x, int in, float[] out, int outDim) {
        Kernels kernels = Kernels.get();
        int n = rows.length;
        float[] input;
        if (n * in == x.length) {
            // every row, in order
            input = x;
        } else {
            input = new float[n * in];
            for (int i = 0; i < n; i++) {
                System.arraycopy(x, rows[i] * in, input, i * in, in);
            }
        }
        float[] down = new float[n * lowRank.a().rows()];
        kernels.matmul(lowRank.a(), input, n, down);
        float[] up = new float[n * outDim];
        kernels.matmul(lowRank.b(), down, n, up);
        for (int i = 0; i < n; i++) {
            float scale = lowRank.scale() * scales[i];
            int target = rows[i] * outDim;
            int source = i * outDim;
            for (int o = 0; o < outDim; o++) {
                out[target + o] += scale * up[source + o];
            }
        }
    }
}
