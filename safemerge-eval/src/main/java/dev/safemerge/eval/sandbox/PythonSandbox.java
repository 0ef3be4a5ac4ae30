package dev.safemerge.eval.sandbox;

import dev.safemerge.tensor.BadInputException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Runs untrusted, model-written Python programs in a throw-away sandbox, never in this JVM: a new session (its own
 * process group), new network namespace (no interface but a downed loopback), new PID namespace (everything dies with
 * its init), new mount namespace in which the root file system is read-only and /tmp, /root, /home, /work, /run and
 * similar are replaced by empty private mounts, and the program runs as user nobody in a working directory on the
 * namespace's own size-limited tmpfs, with limits on address space, processes, CPU time and file size. A wall-clock
 * timeout kills the whole namespace. Only a bounded tail of stdout and stderr is kept.
 *
 * <p>A program passes only when it ran to its last statement: a small harness runs it and then prints a random nonce
 * that it read from stdin before the program started (and closed stdin). Exiting early with status 0
 * ({@code sys.exit(0)}, {@code os._exit(0)}) therefore fails. The nonce lives in the harness's Python process, so a
 * program written to search the interpreter's memory for it could forge a pass; the harness stops the mistakes and
 * shortcuts that model answers make, not a deliberate attack on the harness itself.
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

    /** Bytes of stderr kept for the failure detail (its end). */
    public static final int STDERR_TAIL = 2000;

    /** Bytes of stdout kept, enough to hold the completion nonce after whatever the program printed last. */
    private static final int STDOUT_TAIL = 4096;

    /** Largest file the program may write (RLIMIT_FSIZE); its tmpfs holds {@link #TMPFS_MEGABYTES} in all. */
    public static final long MAX_FILE_BYTES = 16L << 20;

    /** Size of the sandbox's own /tmp, which holds the working directory. */
    public static final int TMPFS_MEGABYTES = 64;

    // Runs as root inside the new namespaces, then drops to nobody. $1 host dir, $2 bytes, $3 processes, $4 cpu s,
    // $5 python, $6 largest file. The host dir is entered before /tmp is covered; its two files are copied through the
    // cwd (no path lookup) into the working directory on the namespace's own tmpfs, which vanishes with it.
    private static final String SETUP = String.join(
            "\n",
            "set -e",
            "cd \"$1\"",
            "mount -t tmpfs -o size=" + TMPFS_MEGABYTES + "m,mode=1777 tmpfs /tmp",
            "mkdir /tmp/work",
            "cp program.py harness.py /tmp/work/",
            "chown " + NOBODY + ":" + NOBODY + " /tmp/work",
            "for d in /root /home /work /var/tmp /dev/shm /run /mnt /media /srv; do",
            "  if [ -d \"$d\" ]; then mount -t tmpfs -o ro,size=4k tmpfs \"$d\"; fi",
            "done",
            "mount -o remount,bind,ro /",
            "cd /tmp/work",
            "exec setpriv --reuid=" + NOBODY + " --regid=" + NOBODY + " --clear-groups --no-new-privs -- \\",
            "  prlimit --as=\"$2\" --nproc=\"$3\" --cpu=\"$4\" --fsize=\"$6\" --core=0 -- \"$5\" -I -B harness.py");

    // Reads the nonce, closes stdin, runs program.py as __main__, and prints the nonce only if the program got to its
    // end: an exception or any SystemExit (even status 0) ends the process before the print.
    private static final String HARNESS = String.join(
            "\n",
            "import os, sys",
            "def _harness():",
            "    nonce = sys.stdin.readline().strip()",
            "    devnull = os.open(os.devnull, os.O_RDONLY)",
            "    os.dup2(devnull, 0)",
            "    os.close(devnull)",
            "    with open('program.py', encoding='utf-8') as f:",
            "        code = compile(f.read(), 'program.py', 'exec')",
            "    try:",
            "        exec(code, {'__name__': '__main__', '__builtins__': __builtins__})",
            "    except SystemExit as e:",
            "        sys.stderr.write('the program exited (status %r) before its last statement\\n' % (e.code,))",
            "        os._exit(3)",
            "    sys.stdout.flush()",
            "    os.write(1, ('\\n' + nonce + '\\n').encode())",
            "_harness()",
            "");

    private static final java.security.SecureRandom RANDOM = new java.security.SecureRandom();

    private final Path python;
    private final Limits limits;
    private final Path hostRoot;

    /** A sandbox whose per-run host folders are made in the JVM's temporary directory. */
    public PythonSandbox(Path python, Limits limits) {
        this(python, limits, Path.of(System.getProperty("java.io.tmpdir")));
    }

    /** A sandbox whose per-run host folders ({@code safemerge-sandbox-*}, deleted after each run) are made in {@code hostRoot}. */
    public PythonSandbox(Path python, Limits limits, Path hostRoot) {
        this.python = python;
        this.limits = limits;
        this.hostRoot = hostRoot;
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

    /** Runs a program; it passes when it ran to its last statement (see the class comment). */
    public Result run(String program) {
        Path dir = null;
        try {
            dir = Files.createTempDirectory(
                    hostRoot,
                    "safemerge-sandbox-",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            Files.writeString(dir.resolve("program.py"), program, StandardCharsets.UTF_8);
            Files.writeString(dir.resolve("harness.py"), HARNESS, StandardCharsets.UTF_8);
            return execute(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot prepare the Python sandbox", e);
        } finally {
            if (dir != null) {
                deleteQuietly(dir);
            }
        }
    }

    private Result execute(Path dir) throws IOException {
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
                python.toString(),
                Long.toString(MAX_FILE_BYTES));
        builder.environment().clear();
        builder.environment().put("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
        builder.environment().put("HOME", "/tmp/work");
        builder.environment().put("LANG", "C.UTF-8");
        String nonce = HexFormat.of().formatHex(randomBytes());
        Process process = builder.start();
        Tail stdout = Tail.drain(process.getInputStream(), STDOUT_TAIL);
        Tail stderr = Tail.drain(process.getErrorStream(), STDERR_TAIL);
        boolean finished;
        try (OutputStream stdin = process.getOutputStream()) {
            stdin.write((nonce + "\n").getBytes(StandardCharsets.US_ASCII));
        } catch (IOException e) {
            // the sandbox died before reading its input; its exit status and stderr tell why
        }
        try {
            finished = process.waitFor(limits.timeout().toMillis(), TimeUnit.MILLISECONDS);
            if (!finished) {
                kill(process);
                return new Result(
                        Status.TIMED_OUT,
                        -1,
                        "timed out after " + limits.timeout().toMillis() + " ms");
            }
            String out = stdout.text();
            String err = stderr.text().strip();
            int code = process.exitValue();
            boolean completed = out.endsWith("\n" + nonce + "\n");
            if (code == 0 && !completed) {
                return new Result(Status.FAILED, code, (err + "\nthe program did not run to its end").strip());
            }
            return new Result(code == 0 ? Status.PASSED : Status.FAILED, code, err);
        } catch (InterruptedException e) {
            kill(process);
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while a sandboxed program ran", e);
        }
    }

    private static byte[] randomBytes() {
        byte[] bytes = new byte[16];
        RANDOM.nextBytes(bytes);
        return bytes;
    }

    /** Reads a stream to its end on its own thread, keeping only its last {@code limit} bytes. */
    private static final class Tail {
        private final byte[] ring;
        private final Thread reader;
        private long total;

        private Tail(InputStream in, int limit) {
            this.ring = new byte[limit];
            this.reader = Thread.ofVirtual().start(() -> {
                byte[] buffer = new byte[8192];
                try (in) {
                    for (int n = in.read(buffer); n >= 0; n = in.read(buffer)) {
                        append(buffer, n);
                    }
                } catch (IOException e) {
                    // the process is gone; what was read is all there is
                }
            });
        }

        static Tail drain(InputStream in, int limit) {
            return new Tail(in, limit);
        }

        private synchronized void append(byte[] buffer, int n) {
            for (int i = Math.max(0, n - ring.length); i < n; i++) {
                ring[(int) (total++ % ring.length)] = buffer[i];
            }
        }

        /** The kept bytes as text, once the stream ended. */
        String text() throws InterruptedException {
            reader.join();
            synchronized (this) {
                int length = (int) Math.min(total, ring.length);
                byte[] bytes = new byte[length];
                for (int i = 0; i < length; i++) {
                    bytes[i] = ring[(int) ((total - length + i) % ring.length)];
                }
                return new String(bytes, StandardCharsets.UTF_8);
            }
        }
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

    /**
     * Removes the host directory, which holds only the two files written here (the program writes on its own
     * tmpfs). A failure to remove it leaves a small folder behind but never fails the run.
     */
    private static void deleteQuietly(Path dir) {
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(path);
            }
        } catch (IOException | UncheckedIOException e) {
            System.err.println("warning: cannot remove sandbox directory " + dir + ": " + e.getMessage());
        }
    }
}
