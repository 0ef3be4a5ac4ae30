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
        // Model by model over whole arrays (not element by element) so that the loops stream and vectorise. Without
        // sign election each weighted delta is summed at once, so one scratch array serves every model.
        float[] mixed = new float[n];
        float[][] weighted = signElection ? new float[m][] : null;
        float[] weights = new float[m];
        float[] scratch = null;
        for (int i = 0; i < m; i++) {
            MergeInput input = others.get(i);
            float[] delta = signElection || scratch == null ? new float[n] : scratch;
            kernels.subtract(p, input.values(), base, delta);
            if (input.params().get("density") < 1) {
                delta = pruning.prune(delta, input, group, rescale);
            }
            weights[i] = p.round((float) input.params().get("weight"));
            kernels.scale(p, delta, weights[i]);
            if (signElection) {
                weighted[i] = delta;
            } else {
                kernels.add(mixed, delta);
                scratch = delta;
            }
        }
        if (signElection) {
            float[] signSum = new float[n];
            for (float[] delta : weighted) {
                kernels.add(signSum, delta);
            }
            float[] divisors = new float[n];
            for (int i = 0; i < m; i++) {
                kernels.electedAdd(p, mixed, divisors, weighted[i], signSum, weights[i]);
                weighted[i] = null;
            }
            kernels.divisors(p, divisors);
            kernels.finishTaskArithmetic(p, mixed, base, normalize, divisors, 1, lambda);
        } else {
            float plain = 0;
            for (float weight : weights) {
                plain += weight;
            }
            plain = p.round(plain);
            if (Math.abs(plain) < 1e-8) {
                plain = 1;
            }
            kernels.finishTaskArithmetic(p, mixed, base, normalize, null, plain, lambda);
        }
        return mixed;
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

        float[] prune(float[] delta, MergeInput input, TensorGroup group, boolean rescale) {
            double density = input.params().get("density");
            return switch (this) {
                case NONE -> delta;
                case MAGNITUDE -> Pruners.magnitude(delta, density, rescale, group);
                case RANDOM -> Pruners.random(delta, density, rescale, input.model(), group);
                case MAGNITUDE_OUTLIERS ->
                    Pruners.magnitudeOutliers(delta, density, input.params().get("gamma"), rescale, group);
                case MAGPRUNE ->
                    Pruners.magprune(delta, density, input.params().get("epsilon"), rescale, input.model(), group);
            };
        }
    }
}
