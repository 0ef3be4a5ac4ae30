package dev.safemerge.model.generate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class SamplerTest {
    private static Sampling sampling(double temperature, int topK, double topP, double penalty) {
        return Sampling.greedy(10)
                .withTemperature(temperature)
                .withTopK(topK)
                .withTopP(topP)
                .withRepetitionPenalty(penalty)
                .withSeed(1);
    }

    private static double[] frequencies(Sampling params, float[] logits, int draws) {
        Sampler sampler = Sampler.withRandom(params, new SplittableRandom(99), logits.length);
        double[] counts = new double[logits.length];
        for (int i = 0; i < draws; i++) {
            counts[sampler.next(logits.clone(), 0, logits.length)]++;
        }
        for (int t = 0; t < counts.length; t++) {
            counts[t] /= draws;
        }
        return counts;
    }

    @Test
    void greedyTiesGoToTheLowestId() {
        float[] logits = {0.5f, 2f, 1f, 2f};
        assertThat(Sampler.withRandom(Sampling.greedy(1), new SplittableRandom(1), 4)
                        .next(logits, 0, 4))
                .isEqualTo(1);
    }

    @Test
    void temperatureSamplingFollowsTheSoftmax() {
        float[] logits = {0f, (float) Math.log(2), (float) Math.log(5)};
        double[] f = frequencies(sampling(1, 0, 1, 1), logits, 40_000);
        assertThat(f[0]).isCloseTo(0.125, within(0.01));
        assertThat(f[1]).isCloseTo(0.25, within(0.01));
        assertThat(f[2]).isCloseTo(0.625, within(0.01));
        // temperature 2 halves the log-odds: weights 1, sqrt 2, sqrt 5
        double total = 1 + Math.sqrt(2) + Math.sqrt(5);
        double[] hot = frequencies(sampling(2, 0, 1, 1), logits, 40_000);
        assertThat(hot[0]).isCloseTo(1 / total, within(0.01));
        assertThat(hot[2]).isCloseTo(Math.sqrt(5) / total, within(0.01));
    }

    @Test
    void topKKeepsTheKMostLikely() {
        float[] logits = {3f, 0f, 2f, 1f};
        double[] f = frequencies(sampling(1, 2, 1, 1), logits, 20_000);
        assertThat(f[1]).isZero();
        assertThat(f[3]).isZero();
        assertThat(f[0]).isCloseTo(Math.E / (Math.E + 1), within(0.015));
    }

    @Test
    void topPKeepsTheSmallestSetReachingP() {
        // probabilities 0.5, 0.3, 0.2: p = 0.7 keeps {0.5, 0.3}; p = 0.5 keeps only the first
        float[] logits = {(float) Math.log(0.5), (float) Math.log(0.3), (float) Math.log(0.2)};
        double[] f = frequencies(sampling(1, 0, 0.7, 1), logits, 20_000);
        assertThat(f[2]).isZero();
        assertThat(f[0]).isCloseTo(0.625, within(0.015));
        double[] g = frequencies(sampling(1, 0, 0.5, 1), logits, 1_000);
        assertThat(g[0]).isEqualTo(1.0);
    }

    @Test
    void repetitionPenaltyDividesPositiveAndMultipliesNegativeLogits() {
        float[] logits = {2f, -1f, 1.5f};
        Sampler sampler =
                Sampler.withRandom(Sampling.greedy(5).withRepetitionPenalty(2), new SplittableRandom(1), logits.length);
        sampler.observe(0);
        sampler.observe(1);
        float[] row = logits.clone();
        // token 0: 2 / 2 = 1 < 1.5, so token 2 wins; token 1: -1 * 2 = -2
        assertThat(sampler.next(row, 0, 3)).isEqualTo(2);
        assertThat(row[0]).isEqualTo(1f);
        assertThat(row[1]).isEqualTo(-2f);
    }
}
