package dev.safemerge.model.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class CrossEntropyTest {
    @Test
    void lossIsMeanNegativeLogLikelihoodOverCountedPositionsOnly() {
        float[] logits = {1f, 2f, 3f, /* ignored */ 9f, 9f, 9f, 0f, 0f, 0f};
        int[] targets = {2, CrossEntropy.IGNORE, 0};
        double expected = -Math.log(Math.exp(3) / (Math.exp(1) + Math.exp(2) + Math.exp(3))) + Math.log(3);
        assertThat(CrossEntropy.loss(logits, 3, 3, targets)).isCloseTo(expected, within(1e-6));
        double fromBackward = CrossEntropy.forwardBackward(logits.clone(), 3, 3, targets, 0.5f);
        assertThat(fromBackward).isCloseTo(expected, within(1e-6));
    }

    @Test
    void gradientMatchesFiniteDifferencesAndIgnoredRowsGetZero() {
        SplittableRandom random = new SplittableRandom(3);
        int tokens = 6;
        int vocab = 11;
        float[] logits = GradCheck.gaussian(tokens * vocab, 3, random);
        int[] targets = {4, CrossEntropy.IGNORE, 0, 10, CrossEntropy.IGNORE, 7};
        float weight = 1f / 4;
        float[] grad = logits.clone();
        CrossEntropy.forwardBackward(grad, tokens, vocab, targets, weight);
        GradCheck.check(
                "logits",
                logits,
                grad,
                () -> weight * CrossEntropy.loss(logits, tokens, vocab, targets),
                1e-2,
                tokens * vocab,
                1);
        for (int v = 0; v < vocab; v++) {
            assertThat(grad[vocab + v]).isZero();
            assertThat(grad[4 * vocab + v]).isZero();
        }
    }
}
