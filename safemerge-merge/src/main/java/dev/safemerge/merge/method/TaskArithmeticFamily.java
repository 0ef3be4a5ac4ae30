package dev.safemerge.merge.method;

import static dev.safemerge.merge.ParameterSpec.Scope.GLOBAL;
import static dev.safemerge.merge.ParameterSpec.Scope.PER_MODEL;

import dev.safemerge.merge.MergeInput;
import dev.safemerge.merge.MergeKernels;
import dev.safemerge.merge.MergeMethod;
import dev.safemerge.merge.ParameterSpec;
import dev.safemerge.merge.Precision;
import dev.safemerge.merge.TensorGroup;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Generalized task arithmetic, the shared core of task_arithmetic, TIES, DARE, breadcrumbs and DELLA. The order of
 * operations is mergekit's: task vectors, per-model pruning (with l1-norm rescaling), weighting, optional sign
 * election on the weighted deltas, sum, optional normalisation, lambda, base added back; each step rounded to the
 * working precision.
 */
public abstract class TaskArithmeticFamily implements MergeMethod {
    private final String name;
    private final Pruning pruning;
    private final boolean signElection;
    private final boolean defaultNormalize;
    private final boolean defaultRescale;

    TaskArithmeticFamily(
            String name, Pruning pruning, boolean signElection, boolean defaultNormalize, boolean defaultRescale) {
        this.name = name;
        this.pruning = pruning;
        this.signElection = signElection;
        this.defaultNormalize = defaultNormalize;
        this.defaultRescale = defaultRescale;
    }

    @Override
    public final String name() {
        return name;
    }

    @Override
    public final List<ParameterSpec> parameters() {
        List<ParameterSpec> specs = new ArrayList<>(List.of(
                ParameterSpec.required("weight", PER_MODEL),
                ParameterSpec.number("density", PER_MODEL, 1.0),
                ParameterSpec.flag("normalize", defaultNormalize),
                ParameterSpec.flag("rescale", defaultRescale),
                ParameterSpec.number("lambda", GLOBAL, 1.0),
                ParameterSpec.flag("int8_mask", false)));
        specs.addAll(pruning.extraParameters());
        return List.copyOf(specs);
    }

    @Override
    public final BaseModelRule baseModel() {
        return BaseModelRule.REQUIRED;
    }

    @Override
    public final EmbedSizeRule embedSizes() {
        return EmbedSizeRule.CUT_TO_BASE;
    }

    @Override
    public final String checkInputs(int others, boolean hasBase) {
        return hasBase ? null : name + " needs a base_model";
    }

    /** Without pruning or election every element is independent, so large tensors can be merged in chunks. */
    @Override
    public final boolean elementwise() {
        return pruning == Pruning.NONE && !signElection;
    }

    @Override
    public final float[] merge(TensorGroup group) {
        Precision p = group.precision();
        float[] base = group.base().values();
        List<MergeInput> others = group.nonBase();
        if (others.isEmpty()) {
            return base.clone();
        }
        MergeKernels kernels = MergeKernels.best();
        boolean rescale = group.global().flag("rescale");
        boolean normalize = group.global().flag("normalize");
        float lambda = (float) group.global().get("lambda");
        int n = base.length;
        int m = others.size();
        // Pruning is decided first from each whole task vector (ranks, norms); the task vectors are recomputed block
        // by block wherever they are needed rather than stored.
        Pruners.Plan[] plans = new Pruners.Plan[m];
        float[] weights = new float[m];
        for (int i = 0; i < m; i++) {
            MergeInput input = others.get(i);
            if (pruning != Pruning.NONE && input.params().get("density") < 1) {
                plans[i] = pruning.plan(new TaskVector(kernels, p, input.values(), base), n, input, group, rescale);
            }
            weights[i] = p.round((float) input.params().get("weight"));
        }
        float plainDivisor = 1;
        if (!signElection) {
            float plain = 0;
            for (float weight : weights) {
                plain += weight;
            }
            plain = p.round(plain);
            plainDivisor = Math.abs(plain) < 1e-8 ? 1 : plain;
        }
        // Then one pass over the tensor in cache-sized blocks runs every step of every model on a block, each element
        // going through the same operations in the same order as a model-by-model pass over whole arrays would.
        Pruners.Keep[] keeps = new Pruners.Keep[m];
        for (int i = 0; i < m; i++) {
            keeps[i] = plans[i] == null ? null : plans[i].rule().get();
        }
        int block = Math.min(Pruners.BLOCK, n);
        float[][] weighted = new float[signElection ? m : 1][block];
        float[] mixed = new float[block];
        float[] signSum = signElection ? new float[block] : null;
        float[] divisors = signElection ? new float[block] : null;
        float[] merged = new float[n];
        for (int start = 0, count; start < n; start += count) {
            count = Math.min(block, n - start);
            Arrays.fill(mixed, 0, count, 0f);
            if (signElection) {
                Arrays.fill(signSum, 0, count, 0f);
                Arrays.fill(divisors, 0, count, 0f);
            }
            for (int i = 0; i < m; i++) {
                float[] delta = weighted[signElection ? i : 0];
                kernels.subtract(p, others.get(i).values(), base, start, delta, count);
                Pruners.Plan plan = plans[i];
                if (plan != null) {
                    keeps[i].apply(start, delta, count);
                }
                boolean rescaled = plan != null && plan.rescaled();
                // With election the weighted deltas are kept for the vote; without it each is summed at once.
                kernels.weightAndSum(
                        p,
                        delta,
                        count,
                        rescaled ? plan.work() : p,
                        rescaled,
                        rescaled ? plan.factor() : 1,
                        weights[i],
                        signElection ? signSum : mixed);
            }
            if (signElection) {
                for (int i = 0; i < m; i++) {
                    kernels.electedAdd(p, mixed, divisors, weighted[i], signSum, weights[i], count);
                }
                kernels.divisors(p, divisors, count);
                kernels.finishTaskArithmetic(p, mixed, base, start, merged, normalize, divisors, 1, lambda, count);
            } else {
                kernels.finishTaskArithmetic(
                        p, mixed, base, start, merged, normalize, null, plainDivisor, lambda, count);
            }
        }
        return merged;
    }

    /** A model's task vector {@code round(x − base)}, replayed block by block. */
    @SuppressWarnings("ArrayRecordComponent") // the tensors are shared, never copied or compared
    private record TaskVector(MergeKernels kernels, Precision p, float[] x, float[] base) implements Ranks.Blocks {
        @Override
        public void forEach(Ranks.BlockConsumer consumer) {
            float[] block = new float[Math.min(Pruners.BLOCK, x.length)];
            for (int start = 0, count; start < x.length; start += count) {
                count = Math.min(block.length, x.length - start);
                kernels.subtract(p, x, base, start, block, count);
                consumer.accept(start, block, count);
            }
        }

        @Override
        public float get(int index) {
            return p.round(x[index] - base[index]);
        }
    }

    /** How each task vector is sparsified before weighting. */
    enum Pruning {
        NONE,
        /** TIES: keep the {@code int(density·n)} largest magnitudes. */
        MAGNITUDE,
        /** DARE: keep each element with probability density. */
        RANDOM,
        /** Breadcrumbs: drop the gamma fraction of largest and enough of the smallest magnitudes. */
        MAGNITUDE_OUTLIERS,
        /** DELLA: keep with a probability rising with the element's magnitude rank in its row. */
        MAGPRUNE;

        List<ParameterSpec> extraParameters() {
            return switch (this) {
                case MAGNITUDE_OUTLIERS -> List.of(ParameterSpec.number("gamma", PER_MODEL, 0.01));
                case MAGPRUNE -> List.of(ParameterSpec.number("epsilon", PER_MODEL, 0.15));
                default -> List.of();
            };
        }

        Pruners.Plan plan(Ranks.Blocks delta, int n, MergeInput input, TensorGroup group, boolean rescale) {
            double density = input.params().get("density");
            return switch (this) {
                case NONE -> throw new IllegalStateException("no pruning to plan");
                case MAGNITUDE -> Pruners.magnitude(delta, n, density, rescale, group);
                case RANDOM -> Pruners.random(delta, n, density, rescale, input.model(), group);
                case MAGNITUDE_OUTLIERS ->
                    Pruners.magnitudeOutliers(delta, n, density, input.params().get("gamma"), rescale, group);
                case MAGPRUNE ->
                    Pruners.magprune(delta, n, density, input.params().get("epsilon"), rescale, input.model(), group);
            };
        }
    }
}
