package dev.safemerge.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ByteSizesTest {
    @Test
    void decimalAndBinaryUnitsFollowHuggingFaceSemantics() {
        assertThat(ByteSizes.parse("5GB")).isEqualTo(5_000_000_000L);
        assertThat(ByteSizes.parse("500MB")).isEqualTo(500_000_000L);
        assertThat(ByteSizes.parse("2GiB")).isEqualTo(2L << 30);
        assertThat(ByteSizes.parse("1B")).isEqualTo(1);
        assertThat(ByteSizes.parse("4096")).isEqualTo(4096);
        assertThat(ByteSizes.parse("1.5 gb")).isEqualTo(1_500_000_000L);
        assertThat(ByteSizes.parse("10KiB")).isEqualTo(10240);
        assertThat(ByteSizes.parse("1TB")).isEqualTo(1_000_000_000_000L);
    }

    @Test
    void badSizesAreRejectedQuotingThem() {
        for (String bad : new String[] {"", "GB", "-1GB", "0", "5XB", "1e3", "0.1B", "99999999999TB"}) {
            assertThatThrownBy(() -> ByteSizes.parse(bad))
                    .as(bad)
                    .isInstanceOf(BadInputException.class)
                    .hasMessageContaining("'" + bad + "'");
        }
    }
}
