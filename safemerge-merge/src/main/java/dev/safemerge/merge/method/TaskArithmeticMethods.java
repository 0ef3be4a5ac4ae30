package dev.safemerge.merge.method;

import dev.safemerge.merge.MergeInput;
import dev.safemerge.merge.TensorGroup;
import dev.safemerge.merge.kernel.Precision;
import dev.safemerge.merge.method.TaskArithmeticFamily.Pruning;
import java.util.List;

/**
 * The task-arithmetic family as mergekit declares it (its {@code GeneralizedTaskArithmeticMerge} options): each
 * method is the same generalized task arithmetic with a pruning rule for the task vectors, with or without TIES sign
 * election (mergekit's {@code consensus_method="sum"}), and its defaults for {@code normalize} and {@code rescale}.
 * {@link #reference} is the family's arithmetic written out plainly; the fast paths are tested against it.
 */
public final class TaskArithmeticMethods {
    private TaskArithmeticMethods() {}

    /** Ilharco et al. 2023: the weighted sum of task vectors, scaled by lambda, added to the base. */
    public static final TaskArithmeticFamily TASK_ARITHMETIC =
            new TaskArithmeticFamily(Declaration.named("task_arithmetic"));

    /** Yadav et al. 2023: trim to the largest magnitudes, elect signs, disjoint mean. */
    public static final TaskArithmeticFamily TIES = new TaskArithmeticFamily(Declaration.named("ties")
            .withPruning(Pruning.MAGNITUDE)
            .withSignElection()
            .withNormalizeByDefault());

    /** Yu et al. 2024: drop at random and rescale, then sum. */
    public static final TaskArithmeticFamily DARE_LINEAR = new TaskArithmeticFamily(
            Declaration.named("dare_linear").withPruning(Pruning.RANDOM).withRescaleByDefault());

    /** DARE's random drop with TIES sign election. */
    public static final TaskArithmeticFamily DARE_TIES = new TaskArithmeticFamily(Declaration.named("dare_ties")
            .withPruning(Pruning.RANDOM)
            .withSignElection()
            .withRescaleByDefault());

    /** Davari and Belilovsky 2024: drop the largest outliers and the smallest magnitudes, then sum. */
    public static final TaskArithmeticFamily BREADCRUMBS =
            new TaskArithmeticFamily(Declaration.named("breadcrumbs").withPruning(Pruning.MAGNITUDE_OUTLIERS));

    /** Breadcrumbs with TIES sign election. */
    public static final TaskArithmeticFamily BREADCRUMBS_TIES =
            new TaskArithmeticFamily(Declaration.named("breadcrumbs_ties")
                    .withPruning(Pruning.MAGNITUDE_OUTLIERS)
                    .withSignElection());

    /** Deep et al. 2024: keep with a probability rising with the magnitude rank, rescale, elect signs. */
    public static final TaskArithmeticFamily DELLA = new TaskArithmeticFamily(Declaration.named("della")
            .withPruning(Pruning.MAGPRUNE)
            .withSignElection()
            .withNormalizeByDefault()
            .withRescaleByDefault());

    /** DELLA's drop without sign election. */
    public static final TaskArithmeticFamily DELLA_LINEAR = new TaskArithmeticFamily(
            Declaration.named("della_linear").withPruning(Pruning.MAGPRUNE).withRescaleByDefault());

    /**
     * The family's arithmetic in plain scalar steps, one element at a time, as the TIES and DARE papers write it; each
     * step is rounded to the working precision where torch stores a tensor. The block kernels, their Vector API twins
     * and the fused stored-BF16 kernels are tested against it bit for bit. Which elements pruning keeps, and the l1
     * rescale factor, come from the method's own pruning rule (tested on its own).
     */
    public static float[] reference(TaskArithmeticFamily method, TensorGroup group) {
        Precision p = group.precision();
        float[] base = group.base().values();
        List<MergeInput> models = group.nonBase();
        if (models.isEmpty()) {
            return base.clone();
        }
        int m = models.size();
        float[] weights = TaskArithmeticFamily.weights(p, models);
        Pruners.Plan[] plans = method.plans(group);
        float[][] deltas = new float[m][];
        for (int i = 0; i < m; i++) {
            // task vector: tuned minus base
            deltas[i] = new float[base.length];
            for (int j = 0; j < base.length; j++) {
                deltas[i][j] = p.round(models.get(i).values()[j] - base[j]);
            }
            // pruning: trim (TIES), drop (DARE) or sample (DELLA), then the optional l1 rescale
            if (plans[i] != null) {
                prune(plans[i], deltas[i], p);
            }
            for (int j = 0; j < base.length; j++) {
                deltas[i][j] = p.round(deltas[i][j] * weights[i]);
            }
        }
        boolean normalize = group.global().flag("normalize");
        float lambda = (float) group.global().get("lambda");
        float weightSum = TaskArithmeticFamily.plainDivisor(p, weights);
        float[] merged = new float[base.length];
        for (int j = 0; j < base.length; j++) {
            float sum = 0;
            float divisor = weightSum;
            if (method.signElection()) {
                // sign election: the sign of the summed weighted deltas, zero counting as positive
                float votes = 0;
                for (int i = 0; i < m; i++) {
                    votes += deltas[i][j];
                }
                float elected = p.round(votes) >= 0 ? 1 : -1;
                // disjoint merge: only the deltas of the elected sign, normalised by their own weights
                float agreeingWeight = 0;
                for (int i = 0; i < m; i++) {
                    if (Math.signum(deltas[i][j]) == elected) {
                        sum += deltas[i][j];
                        agreeingWeight += weights[i];
                    }
                }
                divisor = p.round(agreeingWeight) == 0 ? 1 : p.round(agreeingWeight);
            } else {
                for (int i = 0; i < m; i++) {
                    sum += deltas[i][j];
                }
            }
            float v = p.round(sum);
            if (normalize) {
                v = p.round(v / divisor);
            }
            if (lambda != 1) {
                v = p.round(v * lambda);
            }
            merged[j] = p.round(base[j] + v);
        }
        return merged;
    }

    /** Zeroes what the plan drops (its rule runs over the vector block by block, in order), then rescales. */
    private static void prune(Pruners.Plan plan, float[] delta, Precision p) {
        Pruners.Keep keep = plan.rule().get();
        float[] block = new float[Pruners.BLOCK];
        for (int start = 0; start < delta.length; start += Pruners.BLOCK) {
            int count = Math.min(Pruners.BLOCK, delta.length - start);
            System.arraycopy(delta, start, block, 0, count);
            keep.apply(start, block, count);
            System.arraycopy(block, 0, delta, start, count);
        }
        if (plan.rescaled()) {
            for (int j = 0; j < delta.length; j++) {
                delta[j] = p.round(plan.work().round(delta[j] * plan.factor()));
            }
        }
    }

    /**
     * One method of the family, by its named options; start from {@link #named} (no pruning, no election, both
     * defaults false) and add what differs.
     *
     * @param pruning how each task vector is sparsified before weighting
     * @param signElection TIES sign election on the weighted deltas and the disjoint sum (consensus "sum")
     * @param normalizeByDefault the default of the {@code normalize} parameter
     * @param rescaleByDefault the default of the {@code rescale} parameter
     */
    public record Declaration(
            String name, Pruning pruning, boolean signElection, boolean normalizeByDefault, boolean rescaleByDefault) {
        static Declaration named(String name) {
            return new Declaration(name, Pruning.NONE, false, false, false);
        }

        Declaration withPruning(Pruning rule) {
            return new Declaration(name, rule, signElection, normalizeByDefault, rescaleByDefault);
        }

        Declaration withSignElection() {
            return new Declaration(name, pruning, true, normalizeByDefault, rescaleByDefault);
        }

        Declaration withNormalizeByDefault() {
            return new Declaration(name, pruning, signElection, true, rescaleByDefault);
        }

        Declaration withRescaleByDefault() {
            return new Declaration(name, pruning, signElection, normalizeByDefault, true);
        }
    }
}
