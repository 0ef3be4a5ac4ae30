package dev.safemerge.bench;

import dev.safemerge.eval.sandbox.PythonSandbox;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;

/**
 * Cost of running one HumanEval-sized program in the sandbox (namespaces, mounts, user switch, limits) against the
 * bound of running the same program with the same interpreter as a plain child process, measured alternately in the
 * same run. Usage: {@code safemerge-bench/run SandboxBench [--runs N]}.
 */
public final class SandboxBench {
    private static final String PROGRAM = """
            def running_max(values):
                out, best = [], None
                for v in values:
                    best = v if best is None or v > best else best
                    out.append(best)
                return out


            def check(candidate):
                assert candidate([1, 3, 2, 5]) == [1, 3, 3, 5]
                assert candidate([]) == []


            check(running_max)
            """;

    private SandboxBench() {}

    public static void main(String[] args) throws Exception {
        int runs = args.length == 2 && args[0].equals("--runs") ? Integer.parseInt(args[1]) : 40;
        Path python = PythonSandbox.defaultPython();
        PythonSandbox sandbox =
                new PythonSandbox(python, new PythonSandbox.Limits(Duration.ofSeconds(10), 1L << 30, 16));
        Path dir = Files.createTempDirectory("sandbox-bench-");
        Path program = dir.resolve("program.py");
        Files.writeString(program, PROGRAM);
        List<Double> sandboxed = new ArrayList<>();
        List<Double> plain = new ArrayList<>();
        try {
            for (int i = 0; i < runs + 3; i++) {
                long t0 = System.nanoTime();
                if (!sandbox.run(PROGRAM).passed()) {
                    throw new IllegalStateException("the program failed in the sandbox");
                }
                long t1 = System.nanoTime();
                Process process = new ProcessBuilder(python.toString(), "-I", "-B", program.toString())
                        .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                        .redirectError(ProcessBuilder.Redirect.DISCARD)
                        .start();
                if (process.waitFor() != 0) {
                    throw new IllegalStateException("the program failed outside the sandbox");
                }
                long t2 = System.nanoTime();
                if (i >= 3) {
                    sandboxed.add((t1 - t0) / 1e6);
                    plain.add((t2 - t1) / 1e6);
                }
            }
        } finally {
            Files.deleteIfExists(program);
            Files.deleteIfExists(dir);
        }
        double s = median(sandboxed);
        double p = median(plain);
        System.out.printf(
                Locale.ROOT,
                "sandboxed run: median %.1f ms; plain interpreter run (bound): median %.1f ms; ratio %.2f (%d runs)%n",
                s,
                p,
                s / p,
                runs);
    }

    private static double median(List<Double> values) {
        List<Double> sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        int n = sorted.size();
        return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
    }
}
