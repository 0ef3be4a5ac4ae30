package dev.safemerge.tensor.kernel;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The shared pool that kernels split their output rows over: one worker per core (or {@code
 * -Dsafemerge.threads=N}). Small jobs run on the calling thread, since handing them off costs more than they do, and a
 * worker that finished a job waits briefly for the next one instead of being woken for it.
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

    /** Chunks per thread: enough that a thread the scheduler holds back leaves its share to the others. */
    private static final int CHUNKS_PER_THREAD = 4;

    /**
     * Runs {@code task} over [0, n) split into contiguous chunks, a few per thread, and returns when every chunk ran.
     * The calling thread and the pool's workers take chunks in turn until none is left, so on a shared machine a
     * worker that starts late finds the work already done instead of being waited for; only chunks already taken are
     * waited for. Which thread runs a chunk never changes what it computes.
     *
     * @param workPerItem a rough cost of one item, to keep small jobs on the calling thread
     */
    public static void forRanges(int n, long workPerItem, RangeTask task) {
        int parts = (int) Math.min(threads, n);
        if (parts <= 1 || n * workPerItem < MIN_PARALLEL_WORK) {
            task.run(0, n);
            return;
        }
        // chunks of at least half the smallest parallel job, at most CHUNKS_PER_THREAD per thread
        long itemsPerChunk = Math.max(1, MIN_PARALLEL_WORK / 2 / Math.max(1, workPerItem));
        int chunks = (int) Math.max(parts, Math.min((long) parts * CHUNKS_PER_THREAD, n / itemsPerChunk));
        Job job = new Job(n, chunks, task);
        latest.set(job);
        ForkJoinPool current = pool;
        for (int p = 1 + waiting.get(); p < parts; p++) {
            current.execute(() -> help(job));
        }
        try {
            job.runChunks();
            job.awaitTaken();
        } finally {
            // a finished job, failed or not, holds its task's arrays until the next job would replace it
            latest.compareAndSet(job, null);
        }
    }

    /**
     * How long a worker that finished its chunks waits, spinning, for the next job before it returns to the pool, and
     * how long the calling thread spins for the last taken chunks before it blocks. A decode step hands the pool a
     * few jobs per layer, each tens of microseconds on a thin model, with microseconds between them, and waking a
     * parked worker for each one takes a good part of the job: two threads multiplied the 135m shape's 576 × 576
     * matrices at 17–23 GB/s against one thread's 16–19, and at 24–26 GB/s with workers that wait (docs/PERFORMANCE.md,
     * "pool workers that wait for the next job").
     */
    private static final long WAIT_NANOS = 100_000;

    /** The job most recently handed out and not yet finished, for the workers that wait; else null. */
    private static final AtomicReference<Job> latest = new AtomicReference<>();

    /** Workers waiting for the next job (or running one they found while waiting): at most threads − 1. */
    private static final AtomicInteger waiting = new AtomicInteger();

    /**
     * A worker's task: {@code first}'s chunks, then every job handed out while it waits, until none comes for
     * {@link #WAIT_NANOS}. A job that no worker sees is still finished by its caller, so waiting only ever adds help.
     */
    private static void help(Job first) {
        first.runChunks();
        if (!startWaiting()) {
            return;
        }
        Job seen = first;
        try {
            long deadline = System.nanoTime() + WAIT_NANOS;
            while (System.nanoTime() < deadline) {
                Job job = latest.get();
                if (job != null && job != seen) {
                    seen = job;
                    job.runChunks();
                    deadline = System.nanoTime() + WAIT_NANOS;
                } else {
                    Thread.onSpinWait();
                }
            }
        } finally {
            waiting.decrementAndGet();
        }
        // a caller that counted this worker just before it stopped waiting handed its job to no one else
        Job job = latest.get();
        if (job != null && job != seen) {
            job.runChunks();
        }
    }

    /** Counts this worker as waiting unless threads − 1 already are, so that waiting never outnumbers the cores. */
    private static boolean startWaiting() {
        for (int count = waiting.get(); count < threads - 1; count = waiting.get()) {
            if (waiting.compareAndSet(count, count + 1)) {
                return true;
            }
        }
        return false;
    }

    /** One {@link #forRanges} call: chunks handed out in order, and how many are still running. */
    private static final class Job {
        private final int n;
        private final int chunks;
        private final RangeTask task;
        private final AtomicInteger next = new AtomicInteger();
        private final CountDownLatch unfinished;
        private final AtomicReference<Throwable> failure = new AtomicReference<>();

        Job(int n, int chunks, RangeTask task) {
            this.n = n;
            this.chunks = chunks;
            this.task = task;
            this.unfinished = new CountDownLatch(chunks);
        }

        void runChunks() {
            for (int c = next.getAndIncrement(); c < chunks; c = next.getAndIncrement()) {
                try {
                    if (failure.get() == null) {
                        task.run((int) ((long) n * c / chunks), (int) ((long) n * (c + 1) / chunks));
                    }
                } catch (Throwable t) {
                    failure.compareAndSet(null, t);
                } finally {
                    unfinished.countDown();
                }
            }
        }

        void awaitTaken() {
            long deadline = System.nanoTime() + WAIT_NANOS;
            while (unfinished.getCount() > 0 && System.nanoTime() < deadline) {
                Thread.onSpinWait();
            }
            boolean interrupted = false;
            while (true) {
                try {
                    unfinished.await();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
            Throwable t = failure.get();
            if (t instanceof RuntimeException e) {
                throw e;
            } else if (t instanceof Error e) {
                throw e;
            } else if (t != null) {
                throw new IllegalStateException(t);
            }
        }
    }
}
