package dev.safemerge.merge.method;

/** {@code della_linear}: pruning MAGPRUNE, sign election false, normalize default false, rescale default true. */
public final class DellaLinear extends TaskArithmeticFamily {
    public DellaLinear() {
        super("della_linear", Pruning.MAGPRUNE, false, false, true);
    }
}
