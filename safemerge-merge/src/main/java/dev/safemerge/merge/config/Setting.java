package dev.safemerge.merge.config;

import java.util.Arrays;
import java.util.List;

/**
 * A parameter setting as mergekit writes it: a number, a gradient (list of numbers interpolated over the layers of a
 * slice), or a list of conditions {@code {filter, value}} of which the first whose filter is absent, {@code "*"} or
 * a substring of the tensor name applies.
 */
public sealed interface Setting {
    /** The value for a tensor at relative layer position {@code t} in [0, 1], or null when no condition matches. */
    Double evaluate(String tensorName, double t);

    record Constant(double value) implements Setting {
        @Override
        public Double evaluate(String tensorName, double t) {
            return value;
        }
    }

    /** Piecewise-linear over equally spaced points: {@code x = t·(n-1)}, interpolating points floor(x) and next. */
    @SuppressWarnings("ArrayRecordComponent")
    record Gradient(double[] points) implements Setting {
        public Gradient {
            points = points.clone();
        }

        @Override
        public Double evaluate(String tensorName, double t) {
            int n = points.length;
            double x = t * (n - 1);
            int i0 = (int) x;
            int i1 = Math.min(n - 1, i0 + 1);
            double fraction = x - i0;
            return (1 - fraction) * points[i0] + fraction * points[i1];
        }

        @Override
        public boolean equals(Object other) {
            return other instanceof Gradient that && Arrays.equals(points, that.points);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(points);
        }

        @Override
        public String toString() {
            return Arrays.toString(points);
        }
    }

    /** @param filter null matches every tensor */
    record Condition(String filter, Setting value) {
        boolean matches(String tensorName) {
            return filter == null || filter.equals("*") || tensorName.contains(filter);
        }
    }

    record Conditional(List<Condition> conditions) implements Setting {
        public Conditional {
            conditions = List.copyOf(conditions);
        }

        @Override
        public Double evaluate(String tensorName, double t) {
            for (Condition condition : conditions) {
                if (condition.matches(tensorName)) {
                    return condition.value().evaluate(tensorName, t);
                }
            }
            return null;
        }
    }
}
