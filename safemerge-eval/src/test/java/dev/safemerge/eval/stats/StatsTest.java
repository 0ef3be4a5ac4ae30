package dev.safemerge.eval.stats;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import dev.safemerge.eval.Golden;
import org.junit.jupiter.api.Test;

class StatsTest {
    @Test
    void wilsonMatchesHandComputedValues() {
        // 5/10: center 0.5, half-width 1.96/(1+0.38415)*sqrt(0.025+0.0096) = 0.26341 (computed by hand).
        Wilson.Interval half = Wilson.interval(5, 10, Wilson.Z95);
        assertThat(half.low()).isCloseTo(0.2366, within(1e-4));
        assertThat(half.high()).isCloseTo(0.7634, within(1e-4));
        // 0/10: [0, z²/(n+z²)] = [0, 3.8415/13.8415] = 0.27753.
        Wilson.Interval none = Wilson.interval(0, 10, Wilson.Z95);
        assertThat(none.low()).isZero();
        assertThat(none.high()).isCloseTo(0.27753, within(1e-5));
        assertThat(Wilson.interval(0, 0, Wilson.Z95).low()).isNaN();
    }

    @Test
    void wilsonMatchesPythonGolden() {
        for (JsonNode c : Golden.get("wilson")) {
            Wilson.Interval ci = Wilson.interval(c.get(0).asLong(), c.get(1).asLong(), Wilson.Z95);
            assertThat(ci.low()).as(c.toString()).isCloseTo(c.get(2).asDouble(), within(1e-12));
            assertThat(ci.high()).as(c.toString()).isCloseTo(c.get(3).asDouble(), within(1e-12));
        }
    }

    @Test
    void passAtKMatchesHandValuesAndExactBinomials() {
        assertThat(PassAtK.estimate(10, 3, 1)).isCloseTo(0.3, within(1e-12));
        // 1 - C(7,5)/C(10,5) = 1 - 21/252 = 0.916666…
        assertThat(PassAtK.estimate(10, 3, 5)).isCloseTo(1 - 21.0 / 252, within(1e-12));
        assertThat(PassAtK.estimate(5, 5, 5)).isEqualTo(1.0);
        for (JsonNode c : Golden.get("pass_at_k")) {
            assertThat(PassAtK.estimate(
                            c.get(0).asInt(), c.get(1).asInt(), c.get(2).asInt()))
                    .as(c.toString())
                    .isCloseTo(c.get(3).asDouble(), within(1e-12));
        }
        assertThatThrownBy(() -> PassAtK.estimate(5, 1, 10)).isInstanceOf(IllegalArgumentException.class);
    }
}
