package dev.safemerge.merge;

/** The plain loops of {@link MergeKernels}: the reference the vectorized kernels are tested against. */
public final class ScalarMergeKernels implements MergeKernels {
    public static final ScalarMergeKernels INSTANCE = new ScalarMergeKernels();

    private ScalarMergeKernels() {}

    @Override
    public String name() {
        return "scalar";
    }

    @Override
    public void round(Precision p, float[] a) {
        round(p, a, 0, a.length);
    }

    void round(Precision p, float[] a, int from, int to) {
        if (p != Precision.F32) {
            for (int j = from; j < to; j++) {
                a[j] = p.round(a[j]);
            }
        }
    }

    @Override
    public void addWeighted(Precision p, float[] sum, float[] x, float weight) {
        addWeighted(p, sum, x, weight, 0, sum.length);
    }

    void addWeighted(Precision p, float[] sum, float[] x, float weight, int from, int to) {
        for (int j = from; j < to; j++) {
            sum[j] += p.round(weight * x[j]);
        }
    }

    @Override
    public void subtract(Precision p, float[] x, float[] base, float[] out) {
        subtract(p, x, base, out, 0, out.length);
    }

    void subtract(Precision p, float[] x, float[] base, float[] out, int from, int to) {
        for (int j = from; j < to; j++) {
            out[j] = p.round(x[j] - base[j]);
        }
    }

    @Override
    public void scale(Precision p, float[] a, float factor) {
        scale(p, a, factor, 0, a.length);
    }

    void scale(Precision p, float[] a, float factor, int from, int to) {
        for (int j = from; j < to; j++) {
            a[j] = p.round(a[j] * factor);
        }
    }

    @Override
    public void add(float[] sum, float[] x) {
        add(sum, x, 0, sum.length);
    }

    void add(float[] sum, float[] x, int from, int to) {
        for (int j = from; j < to; j++) {
            sum[j] += x[j];
        }
    }

    @Override
    public void finishLinear(Precision p, float[] sum, boolean normalize, float divisor) {
        finishLinear(p, sum, normalize, divisor, 0, sum.length);
    }

    void finishLinear(Precision p, float[] sum, boolean normalize, float divisor, int from, int to) {
        for (int j = from; j < to; j++) {
            float total = p.round(sum[j]);
            sum[j] = normalize ? p.round(total / divisor) : total;
        }
    }

    @Override
    public void electedAdd(Precision p, float[] mixed, float[] divisors, float[] delta, float[] signSum, float weight) {
        electedAdd(p, mixed, divisors, delta, signSum, weight, 0, mixed.length);
    }

    void electedAdd(
            Precision p,
            float[] mixed,
            float[] divisors,
            float[] delta,
            float[] signSum,
            float weight,
            int from,
            int to) {
        for (int j = from; j < to; j++) {
            float majority = p.round(signSum[j]) >= 0 ? 1 : -1;
            boolean keep = Math.signum(delta[j]) == majority;
            mixed[j] += keep ? delta[j] : 0;
            divisors[j] += keep ? weight : 0;
        }
    }

    @Override
    public void finishTaskArithmetic(
            Precision p,
            float[] mixed,
            float[] base,
            boolean normalize,
            float[] divisors,
            float divisor,
            float lambda) {
        finishTaskArithmetic(p, mixed, base, normalize, divisors, divisor, lambda, 0, mixed.length);
    }

    void finishTaskArithmetic(
            Precision p,
            float[] mixed,
            float[] base,
            boolean normalize,
            float[] divisors,
            float divisor,
            float lambda,
            int from,
            int to) {
        for (int j = from; j < to; j++) {
            float value = p.round(mixed[j]);
            if (normalize) {
                value = p.round(value / (divisors == null ? divisor : divisors[j]));
            }
            if (lambda != 1) {
                value = p.round(value * lambda);
            }
            mixed[j] = p.round(base[j] + value);
        }
    }

    @Override
    public void divisors(Precision p, float[] d) {
        divisors(p, d, 0, d.length);
    }

    void divisors(Precision p, float[] d, int from, int to) {
        for (int j = from; j < to; j++) {
            float rounded = p.round(d[j]);
            d[j] = rounded == 0 ? 1 : rounded;
        }
    }

    @Override
    public void keepOnly(float[] a, boolean[] keep) {
        keepOnly(a, keep, 0, a.length);
    }

    void keepOnly(float[] a, boolean[] keep, int from, int to) {
        for (int j = from; j < to; j++) {
            a[j] = keep[j] ? a[j] : 0;
        }
    }
}
