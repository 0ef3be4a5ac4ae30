package dev.safemerge.merge.method;

/** {@code della}: pruning MAGPRUNE, sign election true, normalize default true, rescale default true. */
public final class Della extends TaskArithmeticFamily {
    public Della() {
        super("della", Pruning.MAGPRUNE, true, true, true);
    }
}
