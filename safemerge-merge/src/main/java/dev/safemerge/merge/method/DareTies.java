package dev.safemerge.merge.method;

/** {@code dare_ties}: pruning RANDOM, sign election true, normalize default false, rescale default true. */
public final class DareTies extends TaskArithmeticFamily {
    public DareTies() {
        super("dare_ties", Pruning.RANDOM, true, false, true);
    }
}
