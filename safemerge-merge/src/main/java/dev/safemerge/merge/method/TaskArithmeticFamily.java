package dev.safemerge.merge.method;

import static dev.safemerge.merge.ParameterSpec.Scope.GLOBAL;
import static dev.safemerge.merge.ParameterSpec.Scope.PER_MODEL;

import dev.safemerge.merge.MergeInput;
import dev.safemerge.merge.MergeMethod;
import dev.safemerge.merge.ParameterSpec;
import dev.safemerge.merge.Params;
import dev.safemerge.merge.StoredBf16Merge;
import dev.safemerge.merge.TensorGroup;
import dev.safemerge.merge.kernel.MergeKernels;
import dev.safemerge.merge.kernel.Precision;
import dev.safemerge.merge.kernel.ScalarStoredBf16Kernels;
import dev.safemerge.merge.kernel.StoredBf16Kernels;
import dev.safemerge.tensor.DType;
import dev.safemerge.tensor.FloatConversion;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Generalized task arithmetic, the shared core of task_arithmetic, TIES, DARE, breadcrumbs and DELLA (declared in
 * {@link TaskArithmeticMethods}). The order of
 * operations is mergekit's: task vectors, per-model pruning (with l1-norm rescaling), weighting, optional sign
 * election on the weighted deltas, sum, optional normalisation, lambda, base added back; each step rounded to the
 * working precision.
 */
public final class TaskArithmeticFamily implements MergeMethod, StoredBf16Merge {
    private final String name;
    private final Pruning pruning;
    private final boolean signElection;
    private final boolean defaultNormalize;
    private final boolean defaultRescale;

    /** The methods are declared in {@link TaskArithmeticMethods}. */
    TaskArithmeticFamily(TaskArithmeticMethods.Declaration declaration) {
        this.name = declaration.name();
        this.pruning = declaration.pruning();
        this.signElection = declaration.signElection();
        this.defaultNormalize = declaration.normalizeByDefault();
        this.defaultRescale = declaration.rescaleByDefault();
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public List<ParameterSpec> parameters() {
        List<ParameterSpec> specs = new ArrayList<>(List.of(
                ParameterSpec.required("weight", PER_MODEL),
                ParameterSpec.number("density", PER_MODEL, 1.0).within(0, 1),
                ParameterSpec.flag("normalize", defaultNormalize),
                ParameterSpec.flag("rescale", defaultRescale),
                ParameterSpec.number("lambda", GLOBAL, 1.0),
                ParameterSpec.flag("int8_mask", false)));
        specs.addAll(pruning.extraParameters());
        return List.copyOf(specs);
    }

    @Override
    public BaseModelRule baseModel() {
        return BaseModelRule.REQUIRED;
    }

    @Override
    public EmbedSizeRule embedSizes() {
        return EmbedSizeRule.CUT_TO_BASE;
    }

    @Override
    public String checkInputs(int others, boolean hasBase) {
        return hasBase ? null : name + " needs a base_model";
    }

    @Override
    public String checkModelParams(Params model) {
        return pruning == Pruning.MAGPRUNE ? Pruners.magpruneProblem(model.get("density"), model.get("epsilon")) : null;
    }

    @Override
    public String checkParams(List<Params> inputs, int baseIndex, Params global) {
        for (int i = 0; i < inputs.size(); i++) {
            String problem = i == baseIndex ? null : checkModelParams(inputs.get(i));
            if (problem != null) {
                return problem;
            }
        }
        return null;
    }

    /** Without pruning or election every element is independent, so large tensors can be merged in chunks. */
    @Override
    public boolean elementwise() {
        return pruning == Pruning.NONE && !signElection;
    }

    @Override
    public float[] merge(TensorGroup group) {
        float[] base = group.base().values();
        if (group.nonBase().isEmpty()) {
            return base.clone();
        }
        List<TaskVector> vectors = taskVectors(group);
        float[] merged = new float[base.length];
        merge(
                group,
                Operand.of(base),
                vectors,
                plans(group, vectors),
                base.length,
                (start, block, count) -> System.arraycopy(block, 0, merged, start, count));
        return merged;
    }

    /**
     * The same merge straight from stored BF16 bytes (bf16 working precision) to BF16 output: inputs are decoded and
     * results encoded block by block, so no tensor-sized float array is read or written.
     */
    @Override
    public void mergeStoredBf16(TensorGroup group, List<MemorySegment> inputs, long count, Bf16Output out) {
        if (elementwise()) {
            mergeElementwiseStoredBf16(group, inputs, count, out);
            return;
        }
        int n = Math.toIntExact(count);
        MemorySegment base = inputs.get(group.baseIndex());
        if (group.nonBase().isEmpty()) {
            StoredBf16Merge.copyQuieted(base, n, out);
            return;
        }
        List<TaskVector> vectors = new ArrayList<>();
        for (int i = 0; i < inputs.size(); i++) {
            if (i != group.baseIndex()) {
                vectors.add(TaskVector.bf16(inputs.get(i), base, n));
            }
        }
        Pruners.Plan[] plans = plans(group, vectors);
        if (vectors.size() == 1 && (plans[0] == null || plans[0].work() == Precision.BF16)) {
            mergeOneModel(group, base, vectors.getFirst(), plans[0], n, out);
            return;
        }
        merge(
                group,
                Operand.bf16(base),
                vectors,
                plans,
                n,
                (start, block, count1) -> FloatConversion.encode(DType.BF16, block, 0, out.next(count1), count1));
    }

    /** Without pruning or election: every step fused into one kernel per piece of at most {@link #MAX_PIECE}. */
    private void mergeElementwiseStoredBf16(TensorGroup group, List<MemorySegment> inputs, long count, Bf16Output out) {
        List<MergeInput> others = group.nonBase();
        float[] weights = weights(Precision.BF16, others);
        float divisor = plainDivisor(Precision.BF16, weights);
        boolean normalize = group.global().flag("normalize");
        float lambda = (float) group.global().get("lambda");
        MemorySegment[] otherPieces = new MemorySegment[others.size()];
        for (long first = 0; first < count; first += MAX_PIECE) {
            int n = (int) Math.min(MAX_PIECE, count - first);
            for (int i = 0, k = 0; i < inputs.size(); i++) {
                if (i != group.baseIndex()) {
                    otherPieces[k++] = inputs.get(i).asSlice(first * 2, n * 2L);
                }
            }
            MemorySegment base = inputs.get(group.baseIndex()).asSlice(first * 2, n * 2L);
            StoredBf16Kernels.best()
                    .taskArithmetic(base, otherPieces, weights, normalize, divisor, lambda, out.next(n), n);
        }
    }

    /** True for the methods with TIES sign election and the disjoint sum. */
    boolean signElection() {
        return signElection;
    }

    /** Each model's pruning plan from the float values of a group; null where a model is not pruned. */
    Pruners.Plan[] plans(TensorGroup group) {
        return plans(group, taskVectors(group));
    }

    private static List<TaskVector> taskVectors(TensorGroup group) {
        float[] base = group.base().values();
        List<TaskVector> vectors = new ArrayList<>();
        for (MergeInput input : group.nonBase()) {
            vectors.add(TaskVector.of(group.precision(), input.values(), base));
        }
        return vectors;
    }

    /**
     * Pruning is decided first from each whole task vector (ranks, norms); the task vectors are recomputed block by
     * block wherever they are needed rather than stored. Null where a model is not pruned.
     */
    private Pruners.Plan[] plans(TensorGroup group, List<TaskVector> vectors) {
        List<MergeInput> others = group.nonBase();
        boolean rescale = group.global().flag("rescale");
        Pruners.Plan[] plans = new Pruners.Plan[others.size()];
        for (int i = 0; i < plans.length; i++) {
            MergeInput input = others.get(i);
            if (pruning != Pruning.NONE && input.params().get("density") < 1) {
                plans[i] = pruning.plan(vectors.get(i), input, group, rescale);
            }
        }
        return plans;
    }

    private void merge(
            TensorGroup group,
            Operand base,
            List<TaskVector> vectors,
            Pruners.Plan[] plans,
            int n,
            Ranks.BlockConsumer result) {
        Precision p = group.precision();
        List<MergeInput> others = group.nonBase();
        MergeKernels kernels = MergeKernels.best();
        boolean normalize = group.global().flag("normalize");
        float lambda = (float) group.global().get("lambda");
        int m = others.size();
        float[] weights = weights(p, others);
        float plainDivisor = signElection ? 1 : plainDivisor(p, weights);
        // One pass over the tensor in cache-sized blocks runs every step of every model on a block, each element going
        // through the same operations in the same order as a model-by-model pass over whole arrays would.
        Pruners.Keep[] keeps = new Pruners.Keep[m];
        for (int i = 0; i < m; i++) {
            keeps[i] = plans[i] == null ? null : plans[i].rule().get();
        }
        int block = Math.min(Pruners.BLOCK, n);
        float[][] weighted = new float[signElection ? m : 1][block];
        float[] baseBlock = new float[block];
        float[] mixed = new float[block];
        float[] signSum = signElection ? new float[block] : null;
        float[] divisors = signElection ? new float[block] : null;
        float[] merged = new float[block];
        for (int start = 0, count; start < n; start += count) {
            count = Math.min(block, n - start);
            Arrays.fill(mixed, 0, count, 0f);
            if (signElection) {
                Arrays.fill(signSum, 0, count, 0f);
                Arrays.fill(divisors, 0, count, 0f);
            }
            base.read(start, baseBlock, count);
            for (int i = 0; i < m; i++) {
                float[] delta = weighted[signElection ? i : 0];
                vectors.get(i).read(start, delta, count);
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
                kernels.finishTaskArithmetic(p, mixed, baseBlock, merged, normalize, divisors, 1, lambda, count);
            } else {
                kernels.finishTaskArithmetic(p, mixed, baseBlock, merged, normalize, null, plainDivisor, lambda, count);
            }
            result.accept(start, merged, count);
        }
    }

    /**
     * The merge of a base and one other model (the usual merge of a model before and after fine-tuning) from stored
     * BF16: per block the task vector, its pruning, then every later step fused into one pass that writes the output
     * bytes.
     */
    private void mergeOneModel(
            TensorGroup group, MemorySegment base, TaskVector vector, Pruners.Plan plan, int n, Bf16Output out) {
        StoredBf16Kernels kernels = StoredBf16Kernels.best();
        float[] weights = weights(Precision.BF16, group.nonBase());
        boolean rescaled = plan != null && plan.rescaled();
        StoredBf16Kernels.OneModelSteps steps = new StoredBf16Kernels.OneModelSteps(
                rescaled,
                rescaled ? plan.factor() : 1,
                weights[0],
                signElection,
                group.global().flag("normalize"),
                signElection ? 1 : plainDivisor(Precision.BF16, weights),
                (float) group.global().get("lambda"));
        Pruners.Keep keep = plan == null ? null : plan.rule().get();
        float[] delta = new float[Math.min(Pruners.BLOCK, n)];
        for (int start = 0, count; start < n; start += count) {
            count = Math.min(delta.length, n - start);
            vector.read(start, delta, count);
            if (keep != null) {
                keep.apply(start, delta, count);
            }
            kernels.finishOneModel(delta, base, start, steps, out.next(count), count);
        }
    }

    /** Each model's weight as torch holds it, in the working precision. */
    static float[] weights(Precision p, List<MergeInput> models) {
        float[] weights = new float[models.size()];
        for (int i = 0; i < weights.length; i++) {
            weights[i] = p.round((float) models.get(i).params().get("weight"));
        }
        return weights;
    }

    /** The divisor of normalisation without sign election: the rounded sum of the weights, 1 when it is about zero. */
    static float plainDivisor(Precision p, float[] weights) {
        float sum = 0;
        for (float weight : weights) {
            sum += weight;
        }
        sum = p.round(sum);
        return Math.abs(sum) < 1e-8 ? 1 : sum;
    }

    /** The base tensor read block by block: float values in memory, or stored BF16 bytes decoded on the way. */
    @FunctionalInterface
    private interface Operand {
        /** Puts elements {@code [start, start + count)} into {@code dst[0, count)}. */
        void read(int start, float[] dst, int count);

        static Operand of(float[] values) {
            return (start, dst, count) -> System.arraycopy(values, start, dst, 0, count);
        }

        static Operand bf16(MemorySegment bytes) {
            return (start, dst, count) ->
                    FloatConversion.decode(DType.BF16, bytes.asSlice(start * 2L, count * 2L), dst, 0, count);
        }
    }

    /** A model's task vector {@code round(x − base)}, recomputed block by block; one thread replays it at a time. */
    private interface TaskVector extends Ranks.Blocks {
        /** Puts elements {@code [start, start + count)} into {@code dst[0, count)}, count at most a block. */
        void read(int start, float[] dst, int count);

        @Override
        default void forEach(Ranks.BlockConsumer consumer) {
            int n = length();
            float[] block = new float[Math.min(Pruners.BLOCK, n)];
            for (int start = 0, count; start < n; start += count) {
                count = Math.min(block.length, n - start);
                read(start, block, count);
                consumer.accept(start, block, count);
            }
        }

        static TaskVector of(Precision p, float[] x, float[] base) {
            MergeKernels kernels = MergeKernels.best();
            int block = Math.min(Pruners.BLOCK, base.length);
            float[] xs = new float[block];
            float[] bases = new float[block];
            return new TaskVector() {
                @Override
                public void read(int start, float[] dst, int count) {
                    System.arraycopy(x, start, xs, 0, count);
                    System.arraycopy(base, start, bases, 0, count);
                    kernels.subtract(p, xs, bases, dst, count);
                }

                @Override
                public int length() {
                    return base.length;
                }

                @Override
                public float get(int index) {
                    return p.round(x[index] - base[index]);
                }
            };
        }

        static TaskVector bf16(MemorySegment x, MemorySegment base, int n) {
            StoredBf16Kernels kernels = StoredBf16Kernels.best();
            float[] element = new float[1];
            return new TaskVector() {
                @Override
                public void read(int start, float[] dst, int count) {
                    kernels.taskVector(x, base, start, dst, count);
                }

                @Override
                public int length() {
                    return n;
                }

                @Override
                public float get(int index) {
                    ScalarStoredBf16Kernels.INSTANCE.taskVector(x, base, index, element, 1);
                    return element[0];
                }
            };
        }
    }

    /** How each task vector is sparsified before weighting. */
    public enum Pruning {
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
                case MAGNITUDE_OUTLIERS ->
                    List.of(ParameterSpec.number("gamma", PER_MODEL, 0.01).within(0, 1));
                case MAGPRUNE ->
                    List.of(ParameterSpec.number("epsilon", PER_MODEL, 0.15).within(0, 1));
                default -> List.of();
            };
        }

        Pruners.Plan plan(Ranks.Blocks delta, MergeInput input, TensorGroup group, boolean rescale) {
            double density = input.params().get("density");
            return switch (this) {
                case NONE -> throw new IllegalStateException("no pruning to plan");
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
