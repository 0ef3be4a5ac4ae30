package dev.safemerge.app;

import java.util.Locale;

/** Text forms of measured numbers shared by the registry commands: a rate always shows its N and interval. */
final class Reports {
    private Reports() {}

    /** {@code 0.1200 (n=100, 95% CI 0.0700-0.2000)}, or {@code n/a (n=0)} when undefined. */
    static String rate(Double value, int n, Double low, Double high) {
        if (value == null) {
            return "n/a (n=" + n + ")";
        }
        return String.format(
                Locale.ROOT,
                "%.4f (n=%d, 95%% CI %s-%s)",
                value,
                n,
                low == null ? "n/a" : String.format(Locale.ROOT, "%.4f", low),
                high == null ? "n/a" : String.format(Locale.ROOT, "%.4f", high));
    }
}
