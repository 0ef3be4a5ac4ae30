package dev.safemerge.merge.kernel;

/**
 * The plain loops of {@link MergeKernels}: the reference the vectorized kernels are tested against. The package-private
 * forms run the loop for block indices {@code j} in {@code [lo, hi)}, which the vector kernels use for their tails.
 */
public final class ScalarMergeKernels implements MergeKernels {
    public static final ScalarMergeKernels INSTANCE = new ScalarMergeKernels();

    private ScalarMergeKernels() {}

    @Override
    public String name() {
        return "scalar";
    }

    @Override
    public void round(Precision p, float[] a, int count) {
        round(p, a, 0, count);
    }

    void round(Precision p, float[] a, int lo, int hi) {
        if (p != Precision.F32) {
            for (int j = lo; j < hi; j++) {
                a[j] = p.round(a[j]);
            }
        }
    }

    @Override
    public void addWeighted(Precision p, float[] sum, float[] x, float weight) {
        addWeighted(p, sum, x, weight, 0, sum.length);
    }

    void addWeighted(Precision p, float[] sum, float[] x, float weight, int lo, int hi) {
        for (int j = lo; j < hi; j++) {
            sum[j] += p.round(weight * x[j]);
        }
    }

    @Override
    public void subtract(Precision p, float[] x, float[] base, float[] out, int count) {
        subtract(p, x, base, out, 0, count);
    }

    void subtract(Precision p, float[] x, float[] base, float[] out, int lo, int hi) {
        for (int j = lo; j < hi; j++) {
            out[j] = p.round(x[j] - base[j]);
        }
    }

    @Override
    public void weightAndSum(
            Precision p,
            float[] a,
            int count,
            Precision work,
            boolean rescaled,
            float factor,
            float weight,
            float[] sum) {
        weightAndSum(p, a, work, rescaled, factor, weight, sum, 0, count);
    }

    void weightAndSum(
            Precision p,
            float[] a,
            Precision work,
            boolean rescaled,
            float factor,
            float weight,
            float[] sum,
            int lo,
            int hi) {
        for (int j = lo; j < hi; j++) {
            float v = a[j];
            if (rescaled) {
                v = p.round(work.round(v * factor));
            }
            v = p.round(v * weight);
            a[j] = v;
            sum[j] += v;
        }
    }

    @Override
    public void finishLinear(Precision p, float[] sum, boolean normalize, float divisor) {
        finishLinear(p, sum, normalize, divisor, 0, sum.length);
    }

    void finishLinear(Precision p, float[] sum, boolean normalize, float divisor, int lo, int hi) {
        for (int j = lo; j < hi; j++) {
            float total = p.round(sum[j]);
            sum[j] = normalize ? p.round(total / divisor) : total;
        }
    }

    @Override
    public void electedAdd(
            Precision p, float[] mixed, float[] divisors, float[] delta, float[] signSum, float weight, int count) {
        electedAdd(p, mixed, divisors, delta, signSum, weight, 0, count);
    }

    void electedAdd(
            Precision p,
            float[] mixed,
            float[] divisors,
            float[] delta,
            float[] signSum,
            float weight,
            int lo,
            int hi) {
        for (int j = lo; j < hi; j++) {
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
            float[] out,
            boolean normalize,
            float[] divisors,
            float divisor,
            float lambda,
            int count) {
        finishTaskArithmetic(p, mixed, base, out, normalize, divisors, divisor, lambda, 0, count);
    }

    void finishTaskArithmetic(
            Precision p,
            float[] mixed,
            float[] base,
            float[] out,
            boolean normalize,
            float[] divisors,
            float divisor,
            float lambda,
            int lo,
            int hi) {
        for (int j = lo; j < hi; j++) {
            out[j] = finishTaskArithmetic(
                    p, mixed[j], normalize, divisors == null ? divisor : divisors[j], lambda, base[j]);
        }
    }

    /**
     * Task arithmetic's last steps for one element, shared by every scalar kernel of the family: {@code v =
     * round(sum)}, {@code round(v / divisor)} when normalizing, {@code round(v · lambda)} when lambda ≠ 1, and
     * {@code round(base + v)}.
     */
    static float finishTaskArithmetic(
            Precision p, float sum, boolean normalize, float divisor, float lambda, float base) {
        float value = p.round(sum);
        if (normalize) {
            value = p.round(value / divisor);
        }
        if (lambda != 1) {
            value = p.round(value * lambda);
        }
        return p.round(base + value);
    }

    @Override
    public void divisors(Precision p, float[] d, int count) {
        divisors(p, d, 0, count);
    }

    void divisors(Precision p, float[] d, int lo, int hi) {
        for (int j = lo; j < hi; j++) {
            float rounded = p.round(d[j]);
            d[j] = rounded == 0 ? 1 : rounded;
        }
    }

    @Override
    public void keepBelow(float[] a, float[] uniforms, float probability, int count) {
        keepBelow(a, uniforms, probability, 0, count);
    }

    void keepBelow(float[] a, float[] uniforms, float probability, int lo, int hi) {
        for (int j = lo; j < hi; j++) {
            a[j] = uniforms[j] < probability ? a[j] : 0;
        }
    }

    @Override
    public void maskBelow(float[] uniforms, float probability, int count, long[] bits, int first) {
        maskBelow(uniforms, probability, bits, first, 0, count);
    }

    void maskBelow(float[] uniforms, float probability, long[] bits, int first, int lo, int hi) {
        for (int j = lo; j < hi; j++) {
            int i = first + j;
            long bit = 1L << (i & 63);
            bits[i >>> 6] = uniforms[j] < probability ? bits[i >>> 6] | bit : bits[i >>> 6] & ~bit;
        }
    }

    @Override
    public void keepBits(float[] a, int count, long[] bits, int first) {
        keepBits(a, bits, first, 0, count);
    }

    void keepBits(float[] a, long[] bits, int first, int lo, int hi) {
        for (int j = lo; j < hi; j++) {
            int i = first + j;
            a[j] = (bits[i >>> 6] >>> (i & 63) & 1) != 0 ? a[j] : 0;
        }
    }

    @Override
    public void keepRankWindow(
            float[] a, int count, int start, int lowBits, int lowIndex, int highBits, int highIndex) {
        keepRankWindow(a, start, lowBits, lowIndex, highBits, highIndex, 0, count);
    }

    void keepRankWindow(float[] a, int start, int lowBits, int lowIndex, int highBits, int highIndex, int lo, int hi) {
        for (int j = lo; j < hi; j++) {
            int b = magnitudeBits(a[j]);
            int i = start + j;
            boolean aboveLow = b > lowBits || (b == lowBits && i >= lowIndex);
            boolean belowHigh = b < highBits || (b == highBits && i <= highIndex);
            a[j] = aboveLow && belowHigh ? a[j] : 0;
        }
    }

    @Override
    public int countMagnitude(float[] a, int count, int bits) {
        return countMagnitude(a, bits, 0, count);
    }

    int countMagnitude(float[] a, int bits, int lo, int hi) {
        int matches = 0;
        for (int j = lo; j < hi; j++) {
            matches += magnitudeBits(a[j]) == bits ? 1 : 0;
        }
        return matches;
    }

    @Override
    public int countAbove(float[] a, int count, int bits) {
        return countAbove(a, bits, 0, count);
    }

    int countAbove(float[] a, int bits, int lo, int hi) {
        int above = 0;
        for (int j = lo; j < hi; j++) {
            above += magnitudeBits(a[j]) > bits ? 1 : 0;
        }
        return above;
    }

    @Override
    public int selectMagnitudes(float[] a, int count, int lowBits, int highBits, int[] selected) {
        return selectMagnitudes(a, lowBits, highBits, selected, 0, 0, count);
    }

    /** Appends from {@code selected[written]} on and returns the new total. */
    int selectMagnitudes(float[] a, int lowBits, int highBits, int[] selected, int written, int lo, int hi) {
        for (int j = lo; j < hi; j++) {
            int b = magnitudeBits(a[j]);
            if (b >= lowBits && b <= highBits) {
                selected[written++] = b;
            }
        }
        return written;
    }

    /** The raw bits of {@code |value|}: NaN payloads stay, so NaNs order above infinity. */
    static int magnitudeBits(float value) {
        return Float.floatToRawIntBits(value) & 0x7fffffff;
    }

    @Override
    public void addMagnitudes(float[] a, int count, double[] stripes) {
        addMagnitudes(a, stripes, 0, count);
    }

    void addMagnitudes(float[] a, double[] stripes, int lo, int hi) {
        for (int j = lo; j < hi; j++) {
            stripes[j % NORM_STRIPES] += Math.abs(a[j]);
        }
    }

    @Override
    public void uniforms(long key, int first, float[] dst, int count) {
        uniforms(key, first, dst, 0, count);
    }

    void uniforms(long key, int first, float[] dst, int lo, int hi) {
        int inner = (int) key;
        int outer = (int) (key >>> 32);
        for (int j = lo; j < hi; j++) {
            dst[j] = (hash(hash((first + j) + inner) ^ outer) >>> 8) * 0x1.0p-24f;
        }
    }

    /** A 32-bit integer finaliser (lowbias32): a bijection whose output bits each depend on every input bit. */
    static int hash(int x) {
        x ^= x >>> 16;
        x *= 0x7feb352d;
        x ^= x >>> 15;
        x *= 0x846ca68b;
        return x ^ (x >>> 16);
    }
}
