package dev.safemerge.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class LogitDifferenceTest {
    @Test
    void differencesAndArgmaxAgreementsAreCountedByHand() {
        float[][] reference = {{1, 2}, {3, 0}};
        float[][] other = {{1, 3}, {1, 2}};
        LogitDifference difference = LogitDifference.of(reference, other);
        // differences 0, 1, -2, 2; reference squares 1, 4, 9, 0; argmax 1 = 1, then 0 ≠ 1
        assertThat(difference.maxAbs()).isEqualTo(2);
        assertThat(difference.rms()).isCloseTo(Math.sqrt(9 / 4.0), within(1e-12));
        assertThat(difference.referenceRms()).isCloseTo(Math.sqrt(14 / 4.0), within(1e-12));
        assertThat(difference.rmsRelative()).isCloseTo(Math.sqrt(9 / 14.0), within(1e-12));
        assertThat(difference.argmaxAgreements()).isEqualTo(1);
        assertThat(difference.positions()).isEqualTo(2);
        assertThat(difference.toString())
                .isEqualTo("max |Δlogit| 2.0000, rms Δ / rms logit 80.18%, argmax agrees at 1 of 2 positions");
    }

    @Test
    void logitsOfDifferentShapesAreRefused() {
        assertThatThrownBy(() -> LogitDifference.of(new float[][] {{1, 2}}, new float[][] {{1, 2, 3}}))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("position 0");
        assertThatThrownBy(() -> LogitDifference.of(new float[][] {{1}}, new float[][] {{1}, {2}}))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("1 and 2 positions");
    }
}
