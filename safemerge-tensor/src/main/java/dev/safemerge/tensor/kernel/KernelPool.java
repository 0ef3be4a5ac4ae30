package dev.safemerge.tensor.kernel;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;

/**
 * The shared pool that kernels split their output rows over: one worker per core (or {@code
 * -Dsafemerge.threads=N}). Small jobs run on the calling thread, since handing them off costs more than they do.
 */
public final class KernelPool {
    private KernelPool() {}

    /** Below this many multiply-adds a job is not split. */
    private static final long MIN_PARALLEL_WORK = 1L << 15;

    private static volatile int threads =
            Integer.getInteger("safemerge.threads", Runtime.getRuntime().availableProcessors());
    private static volatile ForkJoinPool pool = new ForkJoinPool(threads);

    /** A range of rows [start, end). */
    @FunctionalInterface
    public interface RangeTask {
        void run(int start, int end);
    }

    public static int threads() {
        return threads;
    }

    /** Resizes the pool (e.g. {@code --threads}); call before work starts. */
    public static synchronized void setThreads(int count) {
        if (count < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + count);
        }
        if (count != threads) {
            ForkJoinPool old = pool;
            pool = new ForkJoinPool(count);
            threads = count;
            old.shutdown();
        }
    }

    /**
     * Runs {@code task} over [0, n) split into contiguous ranges, one per thread, and waits for all of them.
     *
     * @param workPerItem a rough cost of one item, to keep small jobs on the calling thread
     */
    public static void forRanges(int n, long workPerItem, RangeTask task) {
        int parts = (int) Math.min(threads, n);
        if (parts <= 1 || n * workPerItem < MIN_PARALLEL_WORK) {
            task.run(0, n);
            return;
        }
        ForkJoinPool current = pool;
        List<ForkJoinTask<?>> forked = new ArrayList<>(parts - 1);
        for (int p = 1; p < parts; p++) {
            int start = (int) ((long) n * p / parts);
            int end = (int) ((long) n * (p + 1) / parts);
            forked.add(current.submit(() -> task.run(start, end)));
        }
        task.run(0, (int) ((long) n / parts));
        for (ForkJoinTask<?> f : forked) {
            f.join();
        }
    }
}
