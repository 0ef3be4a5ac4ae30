package dev.safemerge.tensor.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

/**
 * The pool's promise, whoever runs a chunk: every item of a job runs exactly once before {@link KernelPool#forRanges}
 * returns, and a chunk's failure reaches the caller. The jobs follow each other with nothing in between, as a decode
 * step's do, so workers that wait for the next job take part in most of them.
 */
class KernelPoolTest {

    /** Items per job: with a cost of 1 << 10 each, well above the size below which a job stays on the caller. */
    private static final int ITEMS = 257;

    private static final long COST = 1 << 10;

    @Test
    void everyItemOfBackToBackJobsRunsExactlyOnce() {
        for (int job = 0; job < 2_000; job++) {
            AtomicIntegerArray runs = new AtomicIntegerArray(ITEMS);
            KernelPool.forRanges(ITEMS, COST, (start, end) -> {
                for (int i = start; i < end; i++) {
                    runs.incrementAndGet(i);
                }
            });
            assertRunOnce(runs, "job " + job);
        }
    }

    @Test
    void jobsFromSeveralCallersEachRunExactlyOnce() throws Exception {
        ExecutorService callers = Executors.newFixedThreadPool(4);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int caller = 0; caller < 4; caller++) {
                int id = caller;
                done.add(callers.submit(() -> {
                    for (int job = 0; job < 500; job++) {
                        AtomicIntegerArray runs = new AtomicIntegerArray(ITEMS);
                        KernelPool.forRanges(ITEMS, COST, (start, end) -> {
                            for (int i = start; i < end; i++) {
                                runs.incrementAndGet(i);
                            }
                        });
                        assertRunOnce(runs, "caller " + id + " job " + job);
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get();
            }
        } finally {
            callers.shutdownNow();
        }
    }

    @Test
    void aJobStartedInsideAChunkFinishes() {
        AtomicIntegerArray runs = new AtomicIntegerArray(ITEMS * ITEMS);
        KernelPool.forRanges(ITEMS, COST, (start, end) -> {
            for (int outer = start; outer < end; outer++) {
                int base = outer * ITEMS;
                KernelPool.forRanges(ITEMS, COST, (from, to) -> {
                    for (int i = from; i < to; i++) {
                        runs.incrementAndGet(base + i);
                    }
                });
            }
        });
        assertRunOnce(runs, "nested");
    }

    @Test
    void aFailingChunkFailsItsJobAndTheNextJobRunsWhole() {
        for (int job = 0; job < 200; job++) {
            int failing = job % ITEMS;
            assertThatThrownBy(() -> KernelPool.forRanges(ITEMS, COST, (start, end) -> {
                        if (start <= failing && failing < end) {
                            throw new IllegalStateException("item " + failing);
                        }
                    }))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessage("item " + failing);
            AtomicIntegerArray runs = new AtomicIntegerArray(ITEMS);
            KernelPool.forRanges(ITEMS, COST, (start, end) -> {
                for (int i = start; i < end; i++) {
                    runs.incrementAndGet(i);
                }
            });
            assertRunOnce(runs, "after failure " + job);
        }
    }

    private static void assertRunOnce(AtomicIntegerArray runs, String what) {
        for (int i = 0; i < runs.length(); i++) {
            assertThat(runs.get(i)).as("%s item %d", what, i).isEqualTo(1);
        }
    }
}
