package dev.safemerge.merge.method;

/** {@code dare_linear}: pruning RANDOM, sign election false, normalize default false, rescale default true. */
public final class DareLinear extends TaskArithmeticFamily {
    public DareLinear() {
        super("dare_linear", Pruning.RANDOM, false, false, true);
    }
}
