package dev.safemerge.tensor.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The one vector width of every vector twin (inference, conversion, merge, stored BF16 merge, training products) and
 * of the benchmarks' FMA probe: the machine's preferred vectors, at most 256 bits wide. Touch it only once the
 * Vector API module is known to be present ({@link KernelProvider} checks first).
 *
 * <p>Why at most 256 bits: the packed inference tiles hold a panel's column of sixteen rows in two vectors of eight
 * floats, and with AVX-512's sixteen lanes they could not run (the loader kept every matrix row-major, and q8 decode on
 * the 135m shape ran at 0.03 of its bound). The AVX-512 machines this runs on (AMD Zen 4) execute a 512-bit FMA as two
 * 256-bit halves, so 256-bit vectors reach the same 117 GFLOP/s per core (docs/PERFORMANCE.md, "AVX-512 machines").
 *
 * <p>Why one width for all: the Vector API's methods are shared JDK code, and the JIT inlines them by the vector
 * classes it has seen there. A process that ran 512-bit vectors anywhere (a merge, a conversion, training, a probe)
 * before the 256-bit inference kernels compiled got those kernels compiled without the vector intrinsics: every FMA
 * boxed, and 135m decode at batch 1 fell from 90 to 22 tok/s. With one width the kernels also compute the same bits on
 * AVX2 and AVX-512 machines.
 */
public final class KernelSpecies {
    public static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_PREFERRED.vectorBitSize() > 256
            ? FloatVector.SPECIES_256
            : FloatVector.SPECIES_PREFERRED;
    public static final VectorSpecies<Integer> INTS = VectorSpecies.of(int.class, FLOATS.vectorShape());
    public static final VectorSpecies<Double> DOUBLES = VectorSpecies.of(double.class, FLOATS.vectorShape());

    private KernelSpecies() {}

    /** For {@code --version}: the width the kernels use, and the machine's preferred one where it is wider. */
    static String describe() {
        int preferred = FloatVector.SPECIES_PREFERRED.vectorBitSize();
        return FLOATS.vectorBitSize() + "-bit, " + FLOATS.length() + " float lanes"
                + (preferred > FLOATS.vectorBitSize() ? "; the machine's vectors are " + preferred + "-bit" : "");
    }
}
