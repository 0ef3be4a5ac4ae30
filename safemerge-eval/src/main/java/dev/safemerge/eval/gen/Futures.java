package dev.safemerge.eval.gen;

import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;

/** Waiting for concurrent generation work; a failure is rethrown as it was. */
final class Futures {
    private Futures() {}

    /** Waits for every future; the first failure cancels the rest at once, interrupting those running. */
    static void awaitAll(List<? extends Future<?>> futures) {
        try {
            for (Future<?> future : futures) {
                future.get();
            }
        } catch (ExecutionException e) {
            futures.forEach(f -> f.cancel(true));
            throw rethrown(e.getCause());
        } catch (InterruptedException e) {
            throw interrupted(futures, e);
        }
    }

    /**
     * Waits for every future to end, failed or not, then rethrows the first failure: work already under way (a
     * request on the wire) finishes instead of being interrupted, so nothing is left running once this returns. The
     * tasks themselves skip work not yet started after a failure. Only an interrupt of the waiting thread cancels.
     */
    static void awaitEach(List<? extends Future<?>> futures) {
        Throwable first = null;
        for (Future<?> future : futures) {
            try {
                future.get();
            } catch (ExecutionException e) {
                first = first == null ? e.getCause() : first;
            } catch (InterruptedException e) {
                throw interrupted(futures, e);
            }
        }
        if (first != null) {
            throw rethrown(first);
        }
    }

    private static RuntimeException rethrown(Throwable cause) {
        if (cause instanceof RuntimeException runtime) {
            return runtime;
        }
        if (cause instanceof Error error) {
            throw error;
        }
        return new IllegalStateException(cause);
    }

    private static IllegalStateException interrupted(List<? extends Future<?>> futures, InterruptedException e) {
        futures.forEach(f -> f.cancel(true));
        Thread.currentThread().interrupt();
        return new IllegalStateException("interrupted while generating", e);
    }
}
