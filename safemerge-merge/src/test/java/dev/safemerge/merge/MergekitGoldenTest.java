package dev.safemerge.merge;

import static org.assertj.core.api.Assertions.assertThat;

import dev.safemerge.merge.config.ConfigParser;
import dev.safemerge.merge.config.MergeConfig;
import dev.safemerge.merge.config.Setting;
import dev.safemerge.merge.kernel.Precision;
import dev.safemerge.tensor.ModelDirectory;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Whole merges against mergekit itself (tools/goldens/mergekit_goldens.py): each case folder holds the YAML that
 * mergekit-yaml ran and its output, on tiny Llama checkpoints that transformers wrote. The same YAML runs here and
 * every output tensor must have mergekit's name, shape and dtype, and mergekit's values bit for bit, except where
 * {@link #ULP_TOLERANT} names the upstream reason. DARE and DELLA draw their masks from torch's generator, so their
 * cases compare the kept fraction and the rescale factor instead.
 */
class MergekitGoldenTest {
    static final Path GOLDENS = Path.of("src/test/resources/goldens/mergekit");

    /**
     * Float32 cases whose results depend on a reduction (norm, dot product, variance, weighted sum over models) that
     * torch evaluates in its own vectorised order, which no sequential loop reproduces bit for bit: allowed one bf16
     * ulp of the expected value, with the upstream line. Everything else must be exact, the bf16 runs of these
     * methods too: there every intermediate tensor is rounded to 8 significant bits, which the float32 rounding of a
     * reduction does not reach.
     */
    static final Map<String, String> ULP_TOLERANT = Map.of(
            "slerp_gradient_filters", "slerp.py: dot = torch.sum(v0 * v1) on normalised vectors",
            "nuslerp", "nuslerp.py: torch.norm and (v0 * v1).sum(dim=-1) of the flattened tensors",
            "nuslerp_base_row_wise", "nuslerp.py: row-wise torch.norm and dot products",
            "multislerp", "multislerp.py: torch.linalg.norm of the weighted tangent-space mean",
            "karcher", "karcher.py: torch.linalg.norm in each iteration of the Karcher mean",
            "model_stock", "model_stock.py: torch.norm and (w_0_offset * w_1_offset).sum(dim=-1) for cos θ",
            "sce", "sce.py: torch.var(tvs, dim=0) and torch.sum(erased_weights, dim=0)",
            "base_plus_adapter", "peft merge_and_unload: W + (B @ A) * scaling, the matmul's own summation order");

    /**
     * arcee_fusion.py computes {@code kl_div = torch.sum(p * torch.log(p / q), dim=-1)} in float32 with p ≈ q, so
     * the KL loses about log2(1/KL) bits to cancellation (relative error ~1e-3 at KL ~ 1e-4), so torch's summation
     * order shows; this project sums the same float32 terms wider and rounds once. An importance within that
     * relative distance of {@code median + 1.5·IQR} can fall on the other side of the threshold. For a smooth importance distribution that concerns about 1e-3 of the elements, so such
     * mask flips are allowed on at most 1 element in 500, and a flipped element must hold exactly the other input's
     * value.
     */
    static final String MASK_FLIPS = "arcee_fusion";

    /**
     * Magnitude pruning in bf16 keeps a fixed number of elements by rank, and bf16 magnitudes tie often (about 100
     * distinct values per 1000 elements here). mergekit ranks them with an unstable sort, {@code torch.argsort(w,
     * descending=True)[:k]} (sparsify.py line 70, magnitude) and {@code torch.sort(w, descending=False).indices}
     * (sparsify.py line 110, magnitude_outliers), so which of the equal magnitudes on a window edge stay is the
     * order of torch's sort kernel, not a property of the data; this project breaks such ties by element index
     * ({@code method.Ranks}). In these cases
     * an element may differ from mergekit only where, for some model, its bf16 task-vector magnitude is a value whose
     * run of equal magnitudes crosses an edge of that model's kept window.
     */
    static final Set<String> SORT_TIES = Set.of("ties_bf16", "breadcrumbs_bf16", "breadcrumbs_ties_bf16");

    /**
     * SCE keeps the {@code k = int(nonzero · select_topk)} elements of largest bf16 variance across the task vectors
     * with {@code torch.topk(var.abs().view(-1), k=k, largest=True)} (sce.py, sce_mask), whose choice among equal
     * values on the edge of the top k is the order of torch's selection kernel (no rule of index: here it kept
     * indices 429 and 774 of five tied ones in one tensor, 481 of three in another); this project breaks such ties
     * by element index. A different choice changes which of those elements are kept and, through sce_weight's mean
     * of the squared masked deltas over the whole tensor, each model's weight by a few bf16 ulps, which moves every
     * kept element of the tensor. So in a tensor whose variances tie across the edge, an element whose variance is
     * that edge value may differ, and any other must still be the weighted mean it is for any weights: within the
     * range of base + δ over the deltas that carry the elected sign (widened by the bf16 roundings of the weighted
     * mean and of the final sum); every other tensor must be exact.
     */
    static final String TOPK_TIES = "sce_bf16";

    @TempDir
    Path dir;

    static Stream<String> valueCases() throws IOException {
        try (Stream<Path> cases = Files.list(GOLDENS.resolve("cases"))) {
            return cases
                    .map(p -> p.getFileName().toString())
                    .filter(name -> !name.startsWith("stats_"))
                    .sorted()
                    .toList()
                    .stream();
        }
    }

    static Path merge(Path dir, String name) {
        Path out = dir.resolve(name);
        StringWriter log = new StringWriter();
        Merger.run(
                GOLDENS.resolve("cases").resolve(name).resolve("merge.yml"),
                Merger.Options.into(out)
                        .seed(7)
                        .maxShardBytes(1L << 30)
                        .threads(2)
                        .log(new PrintWriter(log, true))
                        .build());
        return out;
    }

    @ParameterizedTest
    @MethodSource("valueCases")
    void mergeEqualsMergekitsOutput(String name) {
        String method = name.replace("_bf16", "");
        boolean ulp = ULP_TOLERANT.containsKey(name);
        boolean flips = method.equals(MASK_FLIPS);
        Path inputs = GOLDENS.resolve("inputs");
        try (ModelDirectory base = ModelDirectory.open(inputs.resolve("base"));
                ModelDirectory tuned = ModelDirectory.open(inputs.resolve("ft_a"));
                ModelDirectory expected = ModelDirectory.open(
                        GOLDENS.resolve("cases").resolve(name).resolve("out"));
                ModelDirectory actual = ModelDirectory.open(merge(dir, name))) {
            assertThat(actual.tensorNames()).as(name).containsExactlyElementsOf(expected.tensorNames());
            assertThat(actual.config().numHiddenLayers())
                    .isEqualTo(expected.config().numHiddenLayers());
            assertThat(actual.config().vocabSize()).isEqualTo(expected.config().vocabSize());
            long differing = 0;
            long disallowed = 0;
            String firstDisallowed = null;
            long elements = 0;
            List<PrunedModel> pruned = SORT_TIES.contains(name) ? prunedModels(name) : List.of();
            for (String tensor : expected.tensorNames()) {
                List<float[]> magnitudes = new ArrayList<>();
                List<Set<Float>> edgeTies = new ArrayList<>();
                for (PrunedModel model : pruned) {
                    magnitudes.add(model.magnitudes(tensor));
                    edgeTies.add(model.edgeTies(magnitudes.getLast()));
                }
                assertThat(actual.info(tensor).dtype())
                        .as(tensor)
                        .isEqualTo(expected.info(tensor).dtype());
                assertThat(actual.info(tensor).shape())
                        .as(tensor)
                        .containsExactly(expected.info(tensor).shape());
                float[] want = expected.readFloats(tensor);
                float[] got = actual.readFloats(tensor);
                TopkCase topk = name.equals(TOPK_TIES) ? TopkCase.of(name, tensor) : null;
                float[] b = flips ? base.readFloats(tensor) : null;
                float[] t = flips ? tuned.readFloats(tensor) : null;
                elements += want.length;
                for (int i = 0; i < want.length; i++) {
                    if (Float.floatToIntBits(got[i]) != Float.floatToIntBits(want[i])) {
                        differing++;
                        boolean allowed = flips
                                ? (got[i] == b[i] && want[i] == t[i]) || (got[i] == t[i] && want[i] == b[i])
                                : topk != null
                                        ? topk.allows(i, got[i])
                                        : !pruned.isEmpty()
                                                ? onTiedEdge(magnitudes, edgeTies, i)
                                                : ulp && Math.abs(got[i] - want[i]) <= Math.ulp(want[i]) * 65536;
                        if (!allowed && firstDisallowed == null) {
                            firstDisallowed =
                                    "%s %s[%d]: %s vs mergekit %s".formatted(name, tensor, i, got[i], want[i]);
                        }
                        disallowed += allowed ? 0 : 1;
                    }
                }
            }
            System.out.printf(
                    "%s: %d of %d elements differ from mergekit, %d of them beyond the stated bound%n",
                    name, differing, elements, disallowed);
            assertThat(disallowed)
                    .as("elements beyond the bound, the first %s", firstDisallowed)
                    .isZero();
            assertThat(differing).as("mask flips").isLessThanOrEqualTo(flips ? elements / 500 : elements);
        }
    }

    /** One model of a magnitude-pruned case: its bf16 task vector and the density (and gamma) its entry gives. */
    record PrunedModel(Path base, Path tuned, double density, Double gamma) {
        float[] magnitudes(String tensor) {
            float[] b;
            float[] t;
            try (ModelDirectory baseModel = ModelDirectory.open(base);
                    ModelDirectory tunedModel = ModelDirectory.open(tuned)) {
                b = baseModel.readFloats(tensor);
                t = tunedModel.readFloats(tensor);
            }
            float[] magnitudes = new float[b.length];
            for (int i = 0; i < b.length; i++) {
                magnitudes[i] = Math.abs(Precision.BF16.round(Precision.BF16.round(t[i]) - Precision.BF16.round(b[i])));
            }
            return magnitudes;
        }

        /** The magnitudes whose run of equal values in ascending order crosses an edge of the kept window. */
        Set<Float> edgeTies(float[] magnitudes) {
            float[] sorted = magnitudes.clone();
            Arrays.sort(sorted);
            int n = sorted.length;
            int from;
            int to;
            if (gamma == null) { // magnitude: the k largest, k = int(density · n)
                from = n - (int) (density * n);
                to = n;
            } else { // magnitude_outliers: sorted[n_bot : n - n_top]
                int top = (int) (gamma * n);
                int bottom = n - (int) (density * n) - top;
                if (bottom < 0) {
                    top += bottom;
                    bottom = 0;
                }
                from = bottom;
                to = n - top;
            }
            Set<Float> ties = new HashSet<>();
            for (int edge : new int[] {from, to}) {
                if (edge > 0 && edge < n && sorted[edge - 1] == sorted[edge]) {
                    ties.add(sorted[edge]);
                }
            }
            return ties;
        }
    }

    static List<PrunedModel> prunedModels(String name) {
        MergeConfig config =
                ConfigParser.parse(GOLDENS.resolve("cases").resolve(name).resolve("merge.yml"), w -> {});
        List<PrunedModel> models = new ArrayList<>();
        for (MergeConfig.Source source : config.models()) {
            Setting gamma = source.parameters().get("gamma");
            models.add(new PrunedModel(
                    config.baseModel().path(),
                    source.model().path(),
                    source.parameters().get("density").evaluate("", 0),
                    gamma == null ? null : gamma.evaluate("", 0)));
        }
        return models;
    }

    /** The bf16 base and task vectors of one tensor of an SCE case, their variances and the tie on the top-k edge. */
    record TopkCase(float[] base, List<float[]> deltas, float[] variances, float edgeTie) {
        static TopkCase of(String name, String tensor) {
            MergeConfig config =
                    ConfigParser.parse(GOLDENS.resolve("cases").resolve(name).resolve("merge.yml"), w -> {});
            float[] b;
            List<float[]> deltas = new ArrayList<>();
            try (ModelDirectory baseModel =
                    ModelDirectory.open(config.baseModel().path())) {
                b = baseModel.readFloats(tensor);
                for (int i = 0; i < b.length; i++) {
                    b[i] = Precision.BF16.round(b[i]);
                }
                for (MergeConfig.Source source : config.models()) {
                    try (ModelDirectory model =
                            ModelDirectory.open(source.model().path())) {
                        float[] t = model.readFloats(tensor);
                        float[] delta = new float[b.length];
                        for (int i = 0; i < b.length; i++) {
                            delta[i] = Precision.BF16.round(Precision.BF16.round(t[i]) - b[i]);
                        }
                        deltas.add(delta);
                    }
                }
            }
            float[] variances = new float[b.length];
            for (int i = 0; i < b.length; i++) {
                double mean = 0;
                for (float[] delta : deltas) {
                    mean += delta[i];
                }
                mean /= deltas.size();
                double squares = 0;
                for (float[] delta : deltas) {
                    squares += (delta[i] - mean) * (delta[i] - mean);
                }
                variances[i] = Precision.BF16.round((float) (squares / deltas.size()));
            }
            float[] sorted = variances.clone();
            Arrays.sort(sorted);
            int nonZero = 0;
            for (float v : sorted) {
                nonZero += v != 0 ? 1 : 0;
            }
            double selectTopk = config.parameters().get("select_topk").evaluate("", 0);
            int k = (int) ((float) selectTopk * nonZero);
            int edge = sorted.length - k;
            float tie = k > 0 && edge > 0 && sorted[edge - 1] == sorted[edge] ? sorted[edge] : Float.NaN;
            return new TopkCase(b, deltas, variances, tie);
        }

        /** Whether a result may differ from mergekit's at element i (see {@link #TOPK_TIES}). */
        boolean allows(int i, float got) {
            if (Float.isNaN(edgeTie)) {
                return false;
            }
            if (variances[i] == edgeTie) {
                return true;
            }
            double sum = 0;
            for (float[] delta : deltas) {
                sum += delta[i];
            }
            float low = Float.POSITIVE_INFINITY;
            float high = Float.NEGATIVE_INFINITY;
            float largest = 0;
            for (float[] delta : deltas) {
                if (delta[i] != 0 && (delta[i] > 0) == (sum >= 0)) {
                    low = Math.min(low, delta[i]);
                    high = Math.max(high, delta[i]);
                    largest = Math.max(largest, Math.abs(delta[i]));
                }
            }
            // w·δ, their sum and the quotient are each rounded to bf16 (together at most 2 ulps of the largest
            // δ), then base + δ once more (one ulp of the result)
            float margin = 2 * Math.ulp(largest) * 65536 + Math.ulp(got) * 65536;
            return base[i] + low - margin <= got && got <= base[i] + high + margin;
        }
    }

    static boolean onTiedEdge(List<float[]> magnitudes, List<Set<Float>> edgeTies, int i) {
        for (int m = 0; m < magnitudes.size(); m++) {
            if (edgeTies.get(m).contains(magnitudes.get(m)[i])) {
                return true;
            }
        }
        return false;
    }

    /**
     * DARE and DELLA keep each delta element with probability p (density, or DELLA's rank-dependent p) and rescale
     * the kept ones so that the tensor's L1 norm is preserved (sparsify.py rescaled_masked_tensor, RescaleNorm.l1).
     * Checked on both sides: every kept element of a tensor is scaled by that tensor's ‖δ‖₁/‖m⊙δ‖₁ (to 1e-4, the
     * float32 error of the sums and of the subtraction for |δ| ≥ 0.01). Compared between the sides: the kept
     * fraction over N elements, whose two independent estimates differ by more than 5·√(2p(1−p)/N) with
     * probability below 1e-6, and the kept share of the L1 mass, whose two estimates differ by more than
     * 5·√(2·¼·Σδ²)/Σ|δ| (p(1−p) ≤ ¼ per element) with probability below 1e-6.
     */
    @ParameterizedTest
    @MethodSource("statisticsCases")
    void randomMasksKeepAndRescaleLikeMergekit(String name) {
        Path caseDir = GOLDENS.resolve("cases").resolve("stats_" + name);
        try (ModelDirectory base = ModelDirectory.open(GOLDENS.resolve("inputs/base"));
                ModelDirectory tuned = ModelDirectory.open(GOLDENS.resolve("inputs/ft_c"));
                ModelDirectory expected = ModelDirectory.open(caseDir.resolve("out"));
                ModelDirectory actual = ModelDirectory.open(merge(dir, "stats_" + name))) {
            long[] kept = new long[2];
            double[] keptMass = new double[2];
            long total = 0;
            double mass = 0;
            double squares = 0;
            for (String tensor : expected.tensorNames()) {
                float[] b = base.readFloats(tensor);
                float[] t = tuned.readFloats(tensor);
                float[][] sides = {actual.readFloats(tensor), expected.readFloats(tensor)};
                for (int side = 0; side < 2; side++) {
                    float[] out = sides[side];
                    double all = 0;
                    double keptL1 = 0;
                    for (int i = 0; i < b.length; i++) {
                        double delta = t[i] - b[i];
                        all += Math.abs(delta);
                        if (out[i] != b[i]) {
                            keptL1 += Math.abs(delta);
                            kept[side]++;
                        }
                    }
                    keptMass[side] += keptL1;
                    double rescale = all / keptL1;
                    for (int i = 0; i < b.length; i++) {
                        double delta = t[i] - b[i];
                        if (out[i] != b[i] && Math.abs(delta) >= 0.01) {
                            assertThat((out[i] - b[i]) / delta)
                                    .as("%s %s %s[%d] rescale", name, side == 0 ? "here" : "mergekit", tensor, i)
                                    .isCloseTo(rescale, org.assertj.core.data.Offset.offset(1e-4 * rescale));
                        }
                    }
                }
                for (int i = 0; i < b.length; i++) {
                    double delta = t[i] - b[i];
                    total++;
                    mass += Math.abs(delta);
                    squares += delta * delta;
                }
            }
            double p = (double) kept[1] / total;
            double here = (double) kept[0] / total;
            System.out.printf(
                    "%s: kept %.4f here, %.4f by mergekit over %d elements; L1 share %.4f here, %.4f by mergekit%n",
                    name, here, p, total, keptMass[0] / mass, keptMass[1] / mass);
            assertThat(Math.abs(here - p)).isLessThanOrEqualTo(5 * Math.sqrt(2 * p * (1 - p) / total));
            assertThat(Math.abs(keptMass[0] - keptMass[1]) / mass)
                    .isLessThanOrEqualTo(5 * Math.sqrt(2 * 0.25 * squares) / mass);
        }
    }

    static Stream<String> statisticsCases() {
        return List.of("dare_linear", "dare_ties", "della", "della_linear").stream();
    }
}
