package dev.safemerge.eval.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Model-written programs that try to pass without running the test, flood the output, fill the disk or build deep
 * directory trees. Needs root and util-linux's unshare; skipped where they are missing. The timeout only keeps a
 * regression from hanging the build.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class PythonSandboxHostileTest {
    private static final PythonSandbox SANDBOX = new PythonSandbox(
            PythonSandbox.defaultPython(), new PythonSandbox.Limits(Duration.ofSeconds(10), 512L << 20, 16));
    private static final String CHECK = "\ndef check(f):\n    assert f() == 1\n\ncheck(answer)\n";

    @BeforeAll
    static void needsRootAndUnshare() {
        boolean root = "root".equals(System.getProperty("user.name"));
        boolean unshare = Stream.of("/usr/bin/unshare", "/bin/unshare").anyMatch(p -> Files.isExecutable(Path.of(p)));
        assumeTrue(root && unshare, "the Python sandbox needs root and util-linux unshare; skipping");
    }

    @Test
    void exitingWithStatusZeroBeforeTheCheckIsAFailure() {
        assertThat(SANDBOX.run("def answer():\n    return 1\n" + CHECK).status())
                .isEqualTo(PythonSandbox.Status.PASSED);
        for (String exit : List.of("import sys; sys.exit(0)", "import os; os._exit(0)", "raise SystemExit")) {
            PythonSandbox.Result result = SANDBOX.run("def answer():\n    return 0\n" + exit + "\n" + CHECK);
            assertThat(result.status()).as(exit).isEqualTo(PythonSandbox.Status.FAILED);
        }
        // printing something that looks like a marker does not help either
        PythonSandbox.Result forged =
                SANDBOX.run("import os\nos.write(1, b'\\n' + os.urandom(16).hex().encode() + b'\\n')\nos._exit(0)\n");
        assertThat(forged.status()).isEqualTo(PythonSandbox.Status.FAILED);
    }

    @Test
    void gigabytesOfOutputKeepOnlyABoundedTail() {
        PythonSandbox.Result result = SANDBOX.run("""
                import sys
                chunk = 'x' * (1 << 20)
                for _ in range(2200):
                    sys.stderr.write(chunk)
                    sys.stdout.write(chunk)
                raise ValueError('the end')
                """);
        assertThat(result.status()).isNotEqualTo(PythonSandbox.Status.PASSED);
        assertThat(result.detail().length()).isLessThanOrEqualTo(PythonSandbox.STDERR_TAIL);
    }

    @Test
    void bigFilesAndDeepTreesStayInTheSandboxAndCleanupNeverFails(@TempDir Path hostRoot) throws IOException {
        // its own host root, so that sandboxes of other builds or tests running at the same time are not counted
        PythonSandbox sandbox = new PythonSandbox(
                PythonSandbox.defaultPython(),
                new PythonSandbox.Limits(Duration.ofSeconds(10), 512L << 20, 16),
                hostRoot);
        PythonSandbox.Result big = sandbox.run("""
                with open('big', 'wb') as f:
                    f.write(b'x' * (256 << 20))
                """);
        assertThat(big.status()).isEqualTo(PythonSandbox.Status.FAILED);
        PythonSandbox.Result deep = sandbox.run("""
                import os
                for i in range(3000):
                    name = 'd' * 200
                    os.mkdir(name)
                    os.chdir(name)
                """);
        assertThat(deep.status()).isIn(PythonSandbox.Status.PASSED, PythonSandbox.Status.FAILED);
        try (Stream<Path> left = Files.list(hostRoot)) {
            assertThat(left).isEmpty();
        }
    }
}
