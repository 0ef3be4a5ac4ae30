package dev.safemerge.tensor.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.safemerge.tensor.BadInputException;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

/** The one switch between the vector and scalar twins; tests run with the Vector API module present. */
class KernelProviderTest {
    @Test
    void unsetPicksTheVectorTwinsAndSaysWhy() {
        KernelProvider provider = KernelProvider.decide(null);
        assertThat(provider.vector()).isTrue();
        assertThat(provider.description())
                .matches("vector \\(\\d+-bit, \\d+ float lanes(; the machine's vectors are \\d+-bit)?\\)");
        assertThat(provider.choose(() -> "vector", "scalar")).isEqualTo("vector");
    }

    @Test
    void everyMachineWithVectorsOf256BitsOrMoreRunsThePackedTiles() {
        // AVX-512's preferred sixteen lanes once turned the packed tiles off (KernelSpecies says why)
        assertThat(KernelSpecies.FLOATS.vectorBitSize()).isLessThanOrEqualTo(256);
        if (FloatVector.SPECIES_PREFERRED.vectorBitSize() >= 256) {
            assertThat(KernelSpecies.FLOATS.length()).isEqualTo(8);
            assertThat(Kernels.get().multipliesPackedFast()).isTrue();
        }
    }

    @Test
    void theProcessChoiceIsTheDefaultOne() {
        assertThat(KernelProvider.get().description())
                .isEqualTo(KernelProvider.decide(null).description());
    }

    @Test
    void scalarIsForcedByTheOneProperty() {
        KernelProvider provider = KernelProvider.decide(" Scalar ");
        assertThat(provider.vector()).isFalse();
        assertThat(provider.description()).isEqualTo("scalar (-Dsafemerge.kernels=scalar)");
        assertThat(provider.choose(
                        () -> {
                            throw new AssertionError("the vector twin must not be built");
                        },
                        "scalar"))
                .isEqualTo("scalar");
    }

    @Test
    void vectorRequestedExplicitlyIsKept() {
        assertThat(KernelProvider.decide("vector").vector()).isTrue();
    }

    @Test
    void anUnknownValueIsBadInputNamingTheProperty() {
        assertThatThrownBy(() -> KernelProvider.decide("avx"))
                .isInstanceOf(BadInputException.class)
                .hasMessage("-Dsafemerge.kernels=avx: expected scalar or vector");
    }
}
