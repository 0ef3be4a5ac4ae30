package dev.safemerge.merge.method;

/** {@code breadcrumbs_ties}: pruning MAGNITUDE_OUTLIERS, sign election true, normalize default false, rescale default false. */
public final class BreadcrumbsTies extends TaskArithmeticFamily {
    public BreadcrumbsTies() {
        super("breadcrumbs_ties", Pruning.MAGNITUDE_OUTLIERS, true, false, false);
    }
}
