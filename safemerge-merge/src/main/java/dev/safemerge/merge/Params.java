package dev.safemerge.merge;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** Parameter values resolved for one tensor (and one model, for per-model parameters); absent ones are missing. */
public record Params(Map<String, Double> values) {
    public static final Params NONE = new Params(Map.of());

    public Params {
        values = java.util.Collections.unmodifiableMap(new TreeMap<>(values));
    }

    public static Params of(Object... nameValuePairs) {
        Map<String, Double> map = new TreeMap<>();
        for (int i = 0; i < nameValuePairs.length; i += 2) {
            Object value = nameValuePairs[i + 1];
            map.put(
                    (String) nameValuePairs[i],
                    value instanceof Boolean flag ? (flag ? 1.0 : 0.0) : ((Number) value).doubleValue());
        }
        return new Params(map);
    }

    /** The sum of {@code name} over {@code params}, the divisor of methods that normalise by the weight sum. */
    public static double sum(List<Params> params, String name) {
        double sum = 0;
        for (Params p : params) {
            sum += p.get(name);
        }
        return sum;
    }

    public boolean has(String name) {
        return values.containsKey(name);
    }

    public double get(String name) {
        Double value = values.get(name);
        if (value == null) {
            throw new IllegalStateException("parameter '" + name + "' was not resolved");
        }
        return value;
    }

    public boolean flag(String name) {
        return get(name) != 0;
    }
}
