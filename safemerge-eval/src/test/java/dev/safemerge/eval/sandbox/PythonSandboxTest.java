package dev.safemerge.eval.sandbox;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PythonSandboxTest {
    private static PythonSandbox SANDBOX;

    @BeforeAll
    static void sandboxRunsHere() {
        SandboxAssumptions.assumeSandboxRuns();
        // programs that finish must not meet the timer on a busy machine: only the tests of what the timer stops
        // (a loop, a fork bomb) take a short one
        SANDBOX = new PythonSandbox(
                PythonSandbox.defaultPython(), new PythonSandbox.Limits(Duration.ofSeconds(60), 512L << 20, 16));
    }

    @Test
    void aCorrectProgramPassesAndAFailingAssertionFails() {
        assertThat(SANDBOX.run("assert sum([1, 2, 3]) == 6\n").status()).isEqualTo(PythonSandbox.Status.PASSED);
        PythonSandbox.Result failed = SANDBOX.run("assert 1 + 1 == 3, 'bad math'\n");
        assertThat(failed.status()).isEqualTo(PythonSandbox.Status.FAILED);
        assertThat(failed.detail()).contains("AssertionError").contains("bad math");
    }

    @Test
    void anInfiniteLoopIsKilledAtTheTimeout() {
        // TIMED_OUT is only reported when the sandbox's own timer killed the program; no wall-clock assertion.
        PythonSandbox.Result result = new PythonSandbox(
                        PythonSandbox.defaultPython(), new PythonSandbox.Limits(Duration.ofMillis(800), 512L << 20, 16))
                .run("while True:\n    pass\n");
        assertThat(result.status()).isEqualTo(PythonSandbox.Status.TIMED_OUT);
    }

    @Test
    void aForkBombIsContainedAndLeavesNoProcessBehind() throws Exception {
        // The bomb re-executes itself with a marker argument that every forked child inherits, so that only this run's
        // processes are counted below, not those of another build running the same test on the machine.
        String marker = "bomb-" + UUID.randomUUID();
        PythonSandbox.Result result = new PythonSandbox(
                        PythonSandbox.defaultPython(), new PythonSandbox.Limits(Duration.ofSeconds(3), 512L << 20, 16))
                .run("""
                import os, sys, time
                MARKER = '%s'
                if sys.argv[-1] != MARKER:
                    os.execv(sys.executable, [sys.executable, os.path.abspath(sys.argv[0]), MARKER])
                children = 0
                while True:
                    try:
                        if os.fork() == 0:
                            while True:
                                time.sleep(1)
                        children += 1
                    except OSError:
                        time.sleep(0.01)
                """.formatted(marker));
        assertThat(result.passed()).isFalse();
        // Killing the namespace's init takes its processes with it, asynchronously: wait (bounded) until none is left.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        long left;
        while ((left = processesWithArgument(marker)) > 0 && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        assertThat(left).isZero();
    }

    @Test
    void theUsersFilesAreNotReadable(@TempDir Path home) throws Exception {
        Path ssh = Files.createDirectories(home.resolve(".ssh"));
        Path key = ssh.resolve("id_ed25519");
        Files.writeString(key, "PRIVATE KEY MATERIAL");
        assertThat(SANDBOX.run("assert open(" + pyString(key) + ").read()\n").status())
                .isEqualTo(PythonSandbox.Status.FAILED);
        assertThat(SANDBOX.run("import os\nassert os.listdir(" + pyString(ssh) + ")\n")
                        .passed())
                .isFalse();
        // The sandbox's own HOME is its private working directory, not the user's.
        assertThat(SANDBOX.run("import os\nassert not os.path.exists(os.path.expanduser('~/.ssh'))\n")
                        .passed())
                .isTrue();
        // The same secret is readable outside the sandbox: the failures above are the sandbox's doing.
        assertThat(Files.readString(key)).isEqualTo("PRIVATE KEY MATERIAL");
        assertThat(SANDBOX.run("open(" + pyString(key) + ").read()\n").detail()).contains("FileNotFoundError");
    }

    @Test
    void writingOutsideTheTemporaryDirectoryFails(@TempDir Path dir) throws Exception {
        Path target = dir.resolve("escaped.txt");
        PythonSandbox.Result result = SANDBOX.run("open(" + pyString(target) + ", 'w').write('x')\n");
        assertThat(result.passed()).isFalse();
        assertThat(target).doesNotExist();
        assertThat(SANDBOX.run("open('/usr/escaped.txt', 'w').write('x')\n").passed())
                .isFalse();
        assertThat(Path.of("/usr/escaped.txt")).doesNotExist();
        // Its own working directory is writable.
        assertThat(SANDBOX.run("open('scratch.txt', 'w').write('x')\nassert open('scratch.txt').read() == 'x'\n")
                        .passed())
                .isTrue();
    }

    @Test
    void noNetworkNotEvenLoopback() throws Exception {
        AtomicInteger accepted = new AtomicInteger();
        try (ServerSocket server = new ServerSocket(0, 10, InetAddress.getLoopbackAddress())) {
            server.setSoTimeout(100);
            Thread acceptor = Thread.ofVirtual().start(() -> {
                while (!server.isClosed()) {
                    try (Socket socket = server.accept()) {
                        accepted.incrementAndGet();
                    } catch (SocketTimeoutException e) {
                        // keep listening
                    } catch (IOException e) {
                        return;
                    }
                }
            });
            PythonSandbox.Result result = SANDBOX.run("import socket\n"
                    + "s = socket.create_connection(('127.0.0.1', " + server.getLocalPort() + "), timeout=2)\n"
                    + "s.sendall(b'stolen')\n");
            assertThat(result.passed()).isFalse();
            assertThat(result.detail()).contains("OSError");
            server.close();
            acceptor.join();
        }
        assertThat(accepted.get()).isZero();
    }

    @Test
    void memoryBeyondTheLimitFails() {
        PythonSandbox.Result result = SANDBOX.run("x = bytearray(2 * 1024 * 1024 * 1024)\n");
        assertThat(result.status()).isEqualTo(PythonSandbox.Status.FAILED);
        assertThat(result.detail()).contains("MemoryError");
    }

    private static long processesWithArgument(String argument) {
        return ProcessHandle.allProcesses()
                .filter(p -> p.info()
                        .arguments()
                        .map(arguments -> List.of(arguments).contains(argument))
                        .orElse(false))
                .count();
    }

    private static String pyString(Path path) {
        return "'" + path.toAbsolutePath().toString().replace("\\", "\\\\").replace("'", "\\'") + "'";
    }
}
