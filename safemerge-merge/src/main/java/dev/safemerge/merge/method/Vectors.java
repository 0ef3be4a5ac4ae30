package dev.safemerge.merge.method;

/** Reductions accumulated in double (torch accumulates float reductions in float32 or wider, blockwise). */
final class Vectors {
    private Vectors() {}

    static double dot(float[] a, float[] b) {
        double sum = 0;
        for (int i = 0; i < a.length; i++) {
            sum += (double) a[i] * b[i];
        }
        return sum;
    }

    static double norm(float[] a) {
        return Math.sqrt(dot(a, a));
    }

    static double absSum(float[] a) {
        double sum = 0;
        for (float value : a) {
            sum += Math.abs(value);
        }
        return sum;
    }

    static float[] minus(float[] a, float[] b) {
        float[] out = new float[a.length];
        for (int i = 0; i < a.length; i++) {
            out[i] = a[i] - b[i];
        }
        return out;
    }
}
