package dev.safemerge.eval.sandbox;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.safemerge.tensor.BadInputException;
import java.time.Duration;

/** Tests that run programs in the Python sandbox skip, saying why, where it cannot run (not root, no util-linux). */
public final class SandboxAssumptions {
    private static final String UNAVAILABLE_REASON = unavailableReason();

    private SandboxAssumptions() {}

    public static void assumeSandboxRuns() {
        assumeTrue(
                UNAVAILABLE_REASON == null,
                () -> "skipping: the Python sandbox needs root, util-linux (unshare, setpriv, prlimit) and python3: "
                        + UNAVAILABLE_REASON);
    }

    private static String unavailableReason() {
        try {
            new PythonSandbox(
                            PythonSandbox.defaultPython(),
                            new PythonSandbox.Limits(Duration.ofSeconds(30), 512L << 20, 16))
                    .checkAvailable();
            return null;
        } catch (BadInputException e) {
            return e.getMessage();
        }
    }
}
