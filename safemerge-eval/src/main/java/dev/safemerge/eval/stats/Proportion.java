package dev.safemerge.eval.stats;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Locale;

/**
 * A rate {@code count / n} with its 95% Wilson interval. With {@code n = 0} the rate is undefined: {@code null} in
 * JSON and "n/a" in text, never 0, so that an empty denominator (a judge that parsed nothing) cannot read as a perfect
 * score.
 */
public record Proportion(long count, long n) {
    public Proportion {
        if (count < 0 || count > n) {
            throw new IllegalArgumentException(count + " out of " + n);
        }
    }

    public boolean defined() {
        return n > 0;
    }

    /** The rate; only call when {@link #defined()}. */
    public double value() {
        if (n == 0) {
            throw new IllegalStateException("the rate of 0 items is undefined");
        }
        return (double) count / n;
    }

    /** The rate, or {@code null} when undefined. */
    public Double valueOrNull() {
        return n == 0 ? null : value();
    }

    public Wilson.Interval interval95() {
        return Wilson.interval(count, n, Wilson.Z95);
    }

    /**
     * Writes {@code field} (the rate or null), {@code field_n} and {@code field_ci95} ({@code method}, {@code low},
     * {@code high}; null bounds when undefined).
     */
    public void putJson(ObjectNode node, String field) {
        putRate(node, field, valueOrNull());
        node.put(field + "_n", n);
        ObjectNode interval = node.putObject(field + "_ci95");
        interval.put("method", "wilson");
        Wilson.Interval ci = interval95();
        putRate(interval, "low", n == 0 ? null : ci.low());
        putRate(interval, "high", n == 0 ? null : ci.high());
    }

    private static void putRate(ObjectNode node, String field, Double value) {
        if (value == null) {
            node.putNull(field);
        } else {
            node.put(field, value);
        }
    }

    /** {@code 0.333 (95% CI 0.097–0.700, n=6)}, or {@code n/a (n=0)}. */
    public String format() {
        if (n == 0) {
            return "n/a (n=0)";
        }
        Wilson.Interval ci = interval95();
        return String.format(Locale.ROOT, "%.3f (95%% CI %.3f-%.3f, n=%d)", value(), ci.low(), ci.high(), n);
    }
}
