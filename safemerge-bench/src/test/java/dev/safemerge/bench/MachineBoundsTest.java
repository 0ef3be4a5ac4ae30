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
}
