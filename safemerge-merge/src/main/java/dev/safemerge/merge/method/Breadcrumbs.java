package dev.safemerge.merge.method;

/** {@code breadcrumbs}: pruning MAGNITUDE_OUTLIERS, sign election false, normalize default false, rescale default false. */
public final class Breadcrumbs extends TaskArithmeticFamily {
    public Breadcrumbs() {
        super("breadcrumbs", Pruning.MAGNITUDE_OUTLIERS, false, false, false);
    }
}
