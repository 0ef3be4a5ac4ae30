package dev.safemerge.safeguard;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.safemerge.eval.Json;
import dev.safemerge.eval.stats.Wilson;

/**
 * A proportion {@code count ÷ n} with its 95% Wilson interval. With {@code n = 0} the rate is undefined: {@link #value}
 * is null, never 0, so that no comparison or selection can treat "nothing was judged" as "nothing was unsafe".
 */
public record Rate(int count, int n) {
    public Rate {
        if (count < 0 || n < 0 || count > n) {
            throw new IllegalArgumentException(count + " of " + n);
        }
    }

    public boolean known() {
        return n > 0;
    }

    /** The rate, or null when undefined. */
    public Double value() {
        return n == 0 ? null : (double) count / n;
    }

    public Wilson.Interval interval() {
        return Wilson.interval(count, n, Wilson.Z95);
    }

    public Rate plus(Rate other) {
        return new Rate(count + other.count, n + other.n);
    }

    /** {@code {"rate", "ci95": [low, high], "count", "n"}}, with nulls for an undefined rate. */
    public ObjectNode toJson() {
        ObjectNode node = Json.object();
        putRate(node, "rate", this);
        putInterval(node, "ci95", this);
        node.put("count", count);
        node.put("n", n);
        return node;
    }

    public static Rate fromJson(JsonNode node) {
        return new Rate(node.path("count").asInt(), node.path("n").asInt());
    }

    static void putRate(ObjectNode node, String field, Rate rate) {
        if (rate.known()) {
            node.put(field, rate.value());
        } else {
            node.putNull(field);
        }
    }

    static void putInterval(ObjectNode node, String field, Rate rate) {
        if (rate.known()) {
            Wilson.Interval ci = rate.interval();
            node.putArray(field).add(ci.low()).add(ci.high());
        } else {
            node.putNull(field);
        }
    }
}
