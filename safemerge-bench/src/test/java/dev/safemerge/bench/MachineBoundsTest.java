package dev.safemerge.bench;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class MachineBoundsTest {

    @Test
    void theBoundAroundAFigureTakesEachLimitFromTheFasterProbe() {
        MachineBounds.Probe before = new MachineBounds.Probe(94e9, 23.8e9);
        MachineBounds.Probe after = new MachineBounds.Probe(165e9, 19.3e9);

        MachineBounds.Probe around = before.higher(after);

        assertThat(around).isEqualTo(new MachineBounds.Probe(165e9, 23.8e9));
        assertThat(after.higher(before)).isEqualTo(around);
    }

    /** 20 GB/s over 2 GB of weights per step is 10 steps/s; 100 GFLOP/s over 2 GFLOP per token is 50 tok/s. */
    @Test
    void decodeIsBoundByBandwidthTimesTheBatchUntilTheFmaRateIsLower() {
        MachineBounds.Probe probe = new MachineBounds.Probe(100e9, 20e9);

        assertThat(probe.decodeBound(1, 2e9, 2e9)).isEqualTo(10.0);
        assertThat(probe.decodeBound(4, 2e9, 2e9)).isEqualTo(40.0);
        assertThat(probe.decodeBound(16, 2e9, 2e9)).isEqualTo(50.0);
    }
}
