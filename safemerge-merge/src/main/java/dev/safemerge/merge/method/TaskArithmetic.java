package dev.safemerge.merge.method;

/** {@code task_arithmetic}: pruning NONE, sign election false, normalize default false, rescale default false. */
public final class TaskArithmetic extends TaskArithmeticFamily {
    public TaskArithmetic() {
        super("task_arithmetic", Pruning.NONE, false, false, false);
    }
}
