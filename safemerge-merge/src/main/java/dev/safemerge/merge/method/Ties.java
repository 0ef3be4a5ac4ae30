package dev.safemerge.merge.method;

/** {@code ties}: pruning MAGNITUDE, sign election true, normalize default true, rescale default false. */
public final class Ties extends TaskArithmeticFamily {
    public Ties() {
        super("ties", Pruning.MAGNITUDE, true, true, false);
    }
}
