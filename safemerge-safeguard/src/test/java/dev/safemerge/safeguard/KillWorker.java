package dev.safemerge.safeguard;

import dev.safemerge.tensor.Progress;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A child JVM's safeguard run, for {@link SafeguardKillTest}: {@code KillWorker DIR OUT} runs the test's plan until
 * the first merge ({@link #FIRST_MERGE}) is on disk and the first of its answers is in the generation cache, then
 * prints {@link #HOLDING} and waits there for ever, so that the test's SIGKILL lands at that point however the two
 * processes are scheduled.
 */
final class KillWorker {
    static final String FIRST_MERGE = "slerp-0.30";
    static final String HOLDING = "holding after the first answer of " + FIRST_MERGE;

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
        AtomicBoolean merged = new AtomicBoolean();
        SafeguardRunner.Events events = new SafeguardRunner.Events() {
            @Override
            public void merged(String variant) {
                if (variant.equals(FIRST_MERGE)) {
                    merged.set(true);
                }
            }
        };
        // an answer is stepped on the generation bar once it is written to the cache
        Progress holdAtFirstAnswer = new Progress() {
            @Override
            public void step(long amount) {
                log.println(HOLDING);
                try {
                    new CountDownLatch(1).await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException(e);
                }
            }

            @Override
            public void message(String text) {}

            @Override
            public void close() {}
        };
        Progress.Factory progress =
                (task, total, unit) -> merged.get() && task.equals("generate") ? holdAtFirstAnswer : Progress.NONE;
        SafeguardRunner.run(plan(Path.of(args[0])), Path.of(args[1]), events, progress, log);
    }
}
