package dev.safemerge.eval.sandbox;

import dev.safemerge.tensor.BadInputException;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Runs untrusted, model-written Python programs in a throw-away sandbox, never in this JVM: a new session (its own
 * process group), new network namespace (no interface but a downed loopback), new PID namespace (everything dies with
 * its init), new mount namespace in which the root file system is read-only and /tmp, /root, /home, /work, /run and
 * similar are replaced by empty private mounts, and the program runs as user nobody in a private working directory
 * with limits on address space, processes and CPU time. A wall-clock timeout kills the whole namespace.
 *
 * <p>Needs root (or CAP_SYS_ADMIN) and util-linux's {@code unshare}, {@code setpriv} and {@code prlimit}.
 */
public final class PythonSandbox {
    /** How a program ended. */
    public enum Status {
        PASSED,
        FAILED,
        TIMED_OUT
    }

    /** @param detail the tail of the program's stderr, or why it did not finish */
    public record Result(Status status, int exitCode, String detail) {
        public boolean passed() {
            return status == Status.PASSED;
        }
    }

    /** Limits for one run. */
    public record Limits(Duration timeout, long addressSpaceBytes, int maxProcesses) {
        public static final Limits HUMAN_EVAL = new Limits(Duration.ofSeconds(3), 1L << 30, 16);
    }

    private static final int NOBODY = 65534;
    private static final int STDERR_TAIL = 2000;

    // Runs as root inside the new namespaces, then drops to nobody. $1 work dir, $2 bytes, $3 processes, $4 cpu s,
    // $5 python. The work dir is entered before /tmp is covered, and bound back from the cwd with no path lookup.
    private static final String SETUP = String.join(
            "\n",
            "set -e",
            "cd \"$1\"",
            "mount -t tmpfs -o size=64m,mode=1777 tmpfs /tmp",
            "mkdir /tmp/work",
            "mount --no-canonicalize --bind . /tmp/work",
            "for d in /root /home /work /var/tmp /dev/shm /run /mnt /media /srv; do",
            "  if [ -d \"$d\" ]; then mount -t tmpfs -o ro,size=4k tmpfs \"$d\"; fi",
            "done",
            "mount -o remount,bind,ro /",
            "cd /tmp/work",
            "exec setpriv --reuid=" + NOBODY + " --regid=" + NOBODY + " --clear-groups --no-new-privs -- \\",
            "  prlimit --as=\"$2\" --nproc=\"$3\" --cpu=\"$4\" --core=0 -- \"$5\" -I -B program.py");

    private final Path python;
    private final Limits limits;

    public PythonSandbox(Path python, Limits limits) {
        this.python = python;
        this.limits = limits;
    }

    /** The interpreter to use when none is named: the system one (a per-user shim would be unreadable to nobody). */
    public static Path defaultPython() {
        for (String candidate : List.of("/usr/bin/python3", "/usr/local/bin/python3", "/bin/python3")) {
            Path path = Path.of(candidate);
            if (Files.isExecutable(path)) {
                return path;
            }
        }
        throw new BadInputException("no python3 in /usr/bin or /usr/local/bin; name one with --python");
    }

    /** Checks once that namespaces can be created here, so that a missing privilege is one clear error. */
    public void checkAvailable() {
        Result result = run("print('ok')");
        if (!result.passed()) {
            throw new BadInputException("cannot run the Python sandbox (needs root, unshare, setpriv and prlimit,"
                    + " and " + python + "): " + result.detail().replace('\n', ' '));
        }
    }

    public Result run(String program) {
        Path dir = null;
        try {
            dir = Files.createTempDirectory(
                    "safemerge-sandbox-",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            Files.writeString(dir.resolve("program.py"), program, StandardCharsets.UTF_8);
            // nobody has to write in its own working directory; nothing outside the namespace can see it meanwhile.
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));
            Path stderr = Files.createTempFile("safemerge-sandbox-", ".err");
            try {
                return execute(dir, stderr);
            } finally {
                Files.deleteIfExists(stderr);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot prepare the Python sandbox", e);
        } finally {
            if (dir != null) {
                deleteTree(dir);
            }
        }
    }

    private Result execute(Path dir, Path stderr) throws IOException {
        long cpuSeconds = Math.max(1, (limits.timeout().toMillis() + 999) / 1000) + 1;
        ProcessBuilder builder = new ProcessBuilder(
                "setsid",
                "unshare",
                "--net",
                "--mount",
                "--pid",
                "--fork",
                "--kill-child",
                "--mount-proc",
                "--",
                "/bin/sh",
                "-c",
                SETUP,
                "sandbox",
                dir.toString(),
                Long.toString(limits.addressSpaceBytes()),
                Integer.toString(limits.maxProcesses()),
                Long.toString(cpuSeconds),
                python.toString());
        builder.environment().clear();
        builder.environment().put("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
        builder.environment().put("HOME", "/tmp/work");
        builder.environment().put("LANG", "C.UTF-8");
        builder.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        builder.redirectOutput(ProcessBuilder.Redirect.DISCARD);
        builder.redirectError(stderr.toFile());
        Process process = builder.start();
        boolean finished;
        try {
            finished = process.waitFor(limits.timeout().toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            kill(process);
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while a sandboxed program ran", e);
        }
        if (!finished) {
            kill(process);
            return new Result(
                    Status.TIMED_OUT, -1, "timed out after " + limits.timeout().toMillis() + " ms");
        }
        int code = process.exitValue();
        String err = tail(stderr);
        return new Result(code == 0 ? Status.PASSED : Status.FAILED, code, err);
    }

    /**
     * Killing unshare makes the kernel kill its child, the namespace's init, and with it every process in the
     * namespace (--kill-child, PID namespace semantics); the descendants are killed too in case that raced.
     */
    private static void kill(Process process) {
        List<ProcessHandle> descendants = process.descendants().toList();
        process.destroyForcibly();
        descendants.forEach(ProcessHandle::destroyForcibly);
        try {
            process.waitFor(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static String tail(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        int from = Math.max(0, bytes.length - STDERR_TAIL);
        return new String(bytes, from, bytes.length - from, StandardCharsets.UTF_8).strip();
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(path);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot remove sandbox directory " + dir, e);
        }
    }
}
