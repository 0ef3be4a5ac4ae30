package dev.safemerge.model.train;

import java.util.List;

/**
 * AdamW with decoupled weight decay, step for step as torch.optim.AdamW (non-amsgrad, non-fused): decay the
 * parameter by {@code lr·wd}, update the moments, and divide by {@code sqrt(v)/sqrt(1−β2^t) + ε} with step size
 * {@code lr/(1−β1^t)}. Moments are float32 like the parameters.
 */
public final class AdamW {
    public record Settings(double beta1, double beta2, double epsilon, double weightDecay) {
        public static final Settings DEFAULTS = new Settings(0.9, 0.999, 1e-8, 0.0);
    }

    private final List<Parameter> parameters;
    private final Settings settings;
    private final float[][] firstMoments;
    private final float[][] secondMoments;
    private long step;

    public AdamW(List<Parameter> parameters, Settings settings) {
        this.parameters = List.copyOf(parameters);
        this.settings = settings;
        this.firstMoments = new float[parameters.size()][];
        this.secondMoments = new float[parameters.size()][];
        for (int i = 0; i < parameters.size(); i++) {
            firstMoments[i] = new float[parameters.get(i).size()];
            secondMoments[i] = new float[parameters.get(i).size()];
        }
    }

    /** Applies one update with learning rate {@code lr} from the gradients currently accumulated. */
    public void step(double lr) {
        step++;
        float beta1 = (float) settings.beta1();
        float beta2 = (float) settings.beta2();
        float decay = (float) (1.0 - lr * settings.weightDecay());
        double biasCorrection1 = 1.0 - Math.pow(settings.beta1(), step);
        double biasCorrection2Sqrt = Math.sqrt(1.0 - Math.pow(settings.beta2(), step));
        float stepSize = (float) (lr / biasCorrection1);
        float correction2 = (float) biasCorrection2Sqrt;
        float epsilon = (float) settings.epsilon();
        for (int i = 0; i < parameters.size(); i++) {
            float[] p = parameters.get(i).values();
            float[] g = parameters.get(i).grad();
            float[] m = firstMoments[i];
            float[] v = secondMoments[i];
            for (int j = 0; j < p.length; j++) {
                p[j] *= decay;
                m[j] += (g[j] - m[j]) * (1f - beta1);
                v[j] = v[j] * beta2 + (1f - beta2) * g[j] * g[j];
                float denom = (float) Math.sqrt(v[j]) / correction2 + epsilon;
                p[j] -= stepSize * (m[j] / denom);
            }
        }
    }

    public long stepCount() {
        return step;
    }

    public List<Parameter> parameters() {
        return parameters;
    }

    /** Moments for checkpoints: [parameter][element]. */
    public float[][] firstMoments() {
        return firstMoments;
    }

    public float[][] secondMoments() {
        return secondMoments;
    }

    /** Restores the step count from a checkpoint (moments are restored in place through the accessors). */
    public void restoreStepCount(long steps) {
        this.step = steps;
    }

    /**
     * Scales all gradients so their global L2 norm is at most {@code maxNorm}, as torch.nn.utils.clip_grad_norm_
     * (coefficient {@code maxNorm/(norm+1e-6)}, applied only when below 1). Returns the norm before clipping.
     */
    public static double clipGradNorm(List<Parameter> parameters, double maxNorm) {
        double sumSquares = 0;
        for (Parameter parameter : parameters) {
            for (float g : parameter.grad()) {
                sumSquares += (double) g * g;
            }
        }
        double norm = Math.sqrt(sumSquares);
        double coefficient = maxNorm / (norm + 1e-6);
        if (coefficient < 1.0) {
            float c = (float) coefficient;
            for (Parameter parameter : parameters) {
                float[] g = parameter.grad();
                for (int j = 0; j < g.length; j++) {
                    g[j] *= c;
                }
            }
        }
        return norm;
    }
}
