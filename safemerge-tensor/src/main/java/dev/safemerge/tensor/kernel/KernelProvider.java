package dev.safemerge.tensor.kernel;

import dev.safemerge.tensor.BadInputException;
import java.util.Locale;
import java.util.function.Supplier;

/**
 * Decides once per process whether the hot loops run on the Vector API or on their plain scalar twins, the way
 * Lucene's {@code VectorizationProvider} does. Every kernel family (inference, checkpoint conversion, merge, stored
 * BF16 merge, training products) asks this one provider, so a process never mixes the two and {@code safemerge
 * --version} can say which one runs.
 *
 * <p>The vector twins need the {@code jdk.incubator.vector} module (the launcher adds it) and vectors of at least
 * {@value #MIN_LANES} floats that divide a {@link Matrix#Q8_BLOCK}; otherwise the scalar twins run, with the same
 * results more slowly. The system property
 * {@value #PROPERTY} set to {@code scalar} forces the scalar twins; set to {@code vector} it makes their absence an
 * error instead of a silent fallback.
 */
public final class KernelProvider {
    /** The one switch: {@code -Dsafemerge.kernels=scalar} or {@code vector}; unset means vector when available. */
    public static final String PROPERTY = "safemerge.kernels";

    /** The shortest float vector the vector twins are written for (their tails are shorter than a vector). */
    static final int MIN_LANES = 4;

    private static final KernelProvider INSTANCE = decide(System.getProperty(PROPERTY));

    private final boolean vector;
    private final String description;

    private KernelProvider(boolean vector, String description) {
        this.vector = vector;
        this.description = description;
    }

    /** The choice made for this process. */
    public static KernelProvider get() {
        return INSTANCE;
    }

    /** True when the Vector API twins run. */
    public boolean vector() {
        return vector;
    }

    /** One line for {@code --version} and {@code --debug}: which twins run and why. */
    public String description() {
        return description;
    }

    /** The vector twin when this process runs vector kernels, else the scalar twin; the vector class loads only then. */
    public <K> K choose(Supplier<? extends K> vectorTwin, K scalarTwin) {
        return vector ? vectorTwin.get() : scalarTwin;
    }

    static KernelProvider decide(String requested) {
        String request = requested == null ? "" : requested.strip().toLowerCase(Locale.ROOT);
        if (!request.isEmpty() && !request.equals("scalar") && !request.equals("vector")) {
            throw new BadInputException("-D" + PROPERTY + "=" + requested + ": expected scalar or vector");
        }
        if (request.equals("scalar")) {
            return new KernelProvider(false, "scalar (-D" + PROPERTY + "=scalar)");
        }
        String unavailable = vectorUnavailableReason();
        if (unavailable == null) {
            return new KernelProvider(true, "vector (" + KernelSpecies.describe() + ")");
        }
        if (request.equals("vector")) {
            throw new BadInputException("-D" + PROPERTY + "=vector: " + unavailable);
        }
        return new KernelProvider(false, "scalar (" + unavailable + ")");
    }

    private static String vectorUnavailableReason() {
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
            return "module jdk.incubator.vector absent; run java with --add-modules jdk.incubator.vector";
        }
        // KernelSpecies, the only class here that touches the Vector API, loads once the module is known present
        int lanes = KernelSpecies.FLOATS.length();
        if (lanes < MIN_LANES || Matrix.Q8_BLOCK % lanes != 0) {
            return "vectors of " + lanes + " floats do not fit the kernels (at least " + MIN_LANES + ", dividing "
                    + Matrix.Q8_BLOCK + ")";
        }
        return null;
    }
}
