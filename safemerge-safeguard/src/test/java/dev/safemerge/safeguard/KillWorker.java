package dev.safemerge.safeguard;

import dev.safemerge.tensor.Progress;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;

/** A child JVM's safeguard run, for {@link SafeguardKillTest}: {@code KillWorker DIR OUT} runs the test's plan. */
final class KillWorker {
    private KillWorker() {}

    static SafeguardPlan plan(Path dir) {
        return Fixture.plan(
                dir.resolve("base"),
                List.of(dir.resolve("adapter")),
                List.of("slerp"),
                List.of(0.3, 0.7),
                "safety-bound:0.05");
    }

    public static void main(String[] args) {
        PrintWriter log = new PrintWriter(System.out, true);
        SafeguardRunner.run(
                plan(Path.of(args[0])), Path.of(args[1]), SafeguardRunner.Events.NONE, Progress.SILENT, log);
    }
}
