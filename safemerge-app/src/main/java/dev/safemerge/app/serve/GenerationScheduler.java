package dev.safemerge.app.serve;

import dev.safemerge.model.generate.Sampling;
import dev.safemerge.model.generate.ScaledAdapter;
import dev.safemerge.model.generate.SequenceSpec;
import dev.safemerge.model.text.TextGenerator;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.BooleanSupplier;

/**
 * Runs the prompts of concurrent requests in one continuously running batch. Prompts wait in a bounded queue; one
 * worker starts a batch with the oldest prompt, and before every decode step the batch takes the queued prompts for
 * the same loaded model into its free slots, each with its own sampling (temperature, top-p, top-k, seed,
 * ignore_eos, ...) and its own adapter (or none) over the model's one copy of the weights. A prompt's answer
 * completes the step it ends, whatever else still runs.
 *
 * <p>A prompt joins only when its worst-case KV cache (prompt plus {@code max_tokens} positions) fits in what the
 * running prompts leave of the KV budget; until then it waits, oldest first. A full queue refuses new requests (429),
 * and a prompt larger than the whole budget is refused at once (400).
 */
final class GenerationScheduler implements AutoCloseable {
    private static final java.security.SecureRandom RANDOM = new java.security.SecureRandom();

    /** Sees the worker before each decode step; tests hold it there to let a request arrive at a known step. */
    @FunctionalInterface
    interface StepHook {
        /** @param step the decode step about to be filled and run, counted from 0 in each batch */
        void beforeStep(long step);
    }

    private final int maxBatch;
    private final int maxQueued;
    private final long kvBudgetBytes;
    private final Deque<Item> queue = new ArrayDeque<>();
    private final Thread worker;
    private volatile StepHook hook = step -> {};
    private long kvReservedBytes;
    private int running;
    private long batches;
    private long steps;
    private long joinedRunningBatch;
    private long admitted;
    private boolean closed;
    /** A batch is open: it admits joiners until its last sequence ends and one more step finds none queued. */
    private boolean batchOpen;

    /**
     * @param kvBudgetBytes bytes of KV cache all running prompts together may need at worst
     */
    GenerationScheduler(int maxBatch, int maxQueued, long kvBudgetBytes) {
        this.maxBatch = maxBatch;
        this.maxQueued = maxQueued;
        this.kvBudgetBytes = kvBudgetBytes;
        this.worker = Thread.ofPlatform().name("generation").daemon().start(this::work);
    }

    /** One prompt of a request. */
    private record Item(
            TextGenerator generator,
            ScaledAdapter adapter,
            int[] prompt,
            Sampling options,
            int index,
            long kvBytes,
            TextGenerator.TextListener listener,
            BooleanSupplier cancelled,
            CompletableFuture<TextGenerator.Completion> result) {}

    /** What the scheduler did so far, for {@code GET /metrics}. */
    record Stats(
            long batches,
            long steps,
            long admitted,
            long joinedRunningBatch,
            int running,
            int queued,
            long kvReservedBytes,
            long kvBudgetBytes) {}

    synchronized Stats stats() {
        return new Stats(
                batches, steps, admitted, joinedRunningBatch, running, queue.size(), kvReservedBytes, kvBudgetBytes);
    }

    /**
     * Installs the hook once the open batch, if any, has closed, so that its step numbers count from the next batch.
     * A batch stays open for one more step after its last answer is sent, to admit what arrived meanwhile: a hook
     * installed in that moment would see that step's number, and a request sent then would join the old batch.
     */
    void setStepHook(StepHook hook) throws InterruptedException {
        awaitIdle();
        this.hook = hook;
    }

    /** Waits until at least {@code count} prompts are queued. */
    synchronized void awaitQueued(int count) throws InterruptedException {
        while (queue.size() < count) {
            wait();
        }
    }

    /** Waits until no prompt runs or waits and no batch is open. */
    synchronized void awaitIdle() throws InterruptedException {
        while (batchOpen || running > 0 || !queue.isEmpty()) {
            wait();
        }
    }

    /**
     * The worst-case KV cache bytes of a prompt: its own positions and {@code maxNewTokens} more, where sliding-window
     * layers hold at most their window.
     */
    static long kvBytes(TextGenerator generator, int[] prompt, int maxNewTokens) {
        return generator.kvBytes((long) prompt.length + maxNewTokens);
    }

    /**
     * Queues the prompts of one request for {@code generator}, each run with {@code adapter} (null: the model as
     * loaded). The listener receives text deltas keyed by the prompt's index in {@code prompts}; it runs on the
     * worker thread and must not block.
     *
     * @param randomSeed the request gave no seed: its prompts sample with a fresh one
     * @param cancelled turns true when nobody waits for the answer any more (the client went away): its prompts
     *     leave the queue, or stop generating at their next token
     * @throws ApiException 429 when the queue cannot take all prompts, 400 when a prompt's worst-case KV cache is
     *     larger than the whole budget
     */
    CompletableFuture<List<TextGenerator.Completion>> submit(
            TextGenerator generator,
            ScaledAdapter adapter,
            List<int[]> prompts,
            Sampling options,
            boolean randomSeed,
            TextGenerator.TextListener listener,
            BooleanSupplier cancelled) {
        List<CompletableFuture<TextGenerator.Completion>> futures = new ArrayList<>();
        for (int i = 0; i < prompts.size(); i++) {
            long bytes = kvBytes(generator, prompts.get(i), options.maxNewTokens());
            if (bytes > kvBudgetBytes) {
                String what = prompts.size() == 1 ? "the prompt" : "prompt " + i;
                throw ApiException.badRequest(
                        what + ": " + prompts.get(i).length + " prompt tokens + " + options.maxNewTokens()
                                + " new tokens need " + bytes + " bytes of KV cache, more than the server's whole"
                                + " KV budget of " + kvBudgetBytes + " bytes (--kv-memory)",
                        "max_tokens");
            }
        }
        Sampling sampling = randomSeed ? options.withSeed(RANDOM.nextLong()) : options;
        synchronized (this) {
            if (closed) {
                throw new ApiException(503, "server_error", "the server is shutting down", null, null);
            }
            if (queue.size() + prompts.size() > maxQueued) {
                throw ApiException.overloaded(queue.size());
            }
            for (int i = 0; i < prompts.size(); i++) {
                CompletableFuture<TextGenerator.Completion> future = new CompletableFuture<>();
                int[] prompt = prompts.get(i);
                queue.addLast(new Item(
                        generator,
                        adapter,
                        prompt,
                        sampling,
                        i,
                        kvBytes(generator, prompt, options.maxNewTokens()),
                        listener,
                        cancelled,
                        future));
                futures.add(future);
            }
            notifyAll();
        }
        return CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new))
                .thenApply(done -> futures.stream().map(CompletableFuture::join).toList());
    }

    private void work() {
        while (true) {
            Item first = firstOfBatch();
            if (first == null) {
                return;
            }
            run(first);
        }
    }

    /** Waits for a prompt to start a batch with; null when the scheduler closes. */
    private synchronized Item firstOfBatch() {
        while (true) {
            while (queue.isEmpty() && !closed) {
                try {
                    wait();
                } catch (InterruptedException e) {
                    return null;
                }
            }
            if (closed) {
                queue.forEach(item -> item.result()
                        .completeExceptionally(
                                new ApiException(503, "server_error", "the server is shutting down", null, null)));
                queue.clear();
                return null;
            }
            dropCancelled();
            if (!queue.isEmpty()) {
                return queue.peekFirst();
            }
        }
    }

    private void dropCancelled() {
        queue.removeIf(item -> item.cancelled().getAsBoolean() && item.result().cancel(false));
    }

    /** Runs one batch, started by {@code first}, until nothing runs and no prompt for its model waits. */
    private void run(Item first) {
        TextGenerator generator = first.generator();
        int limit = Math.min(maxBatch, generator.maxBatch());
        synchronized (this) {
            batches++;
            batchOpen = true;
        }
        long[] step = {0};
        TextGenerator.TextFeed feed = freeSlots -> {
            hook.beforeStep(step[0]++);
            synchronized (this) {
                steps++;
                List<TextGenerator.Joining> joining = new ArrayList<>();
                if (closed) {
                    return joining;
                }
                dropCancelled();
                int free = Math.min(freeSlots, limit - running);
                for (Iterator<Item> it = queue.iterator(); it.hasNext() && joining.size() < free; ) {
                    Item item = it.next();
                    if (item.generator() != generator) {
                        continue;
                    }
                    if (kvReservedBytes + item.kvBytes() > kvBudgetBytes) {
                        break; // the oldest prompt for this model waits for memory; later ones do not overtake it
                    }
                    it.remove();
                    kvReservedBytes += item.kvBytes();
                    admitted++;
                    if (running > 0) {
                        joinedRunningBatch++;
                    }
                    running++;
                    item.result().whenComplete((completion, failure) -> release(item));
                    // prompt i of a request samples from stream i of its seed, as it would alone
                    joining.add(new TextGenerator.Joining(
                            new SequenceSpec(item.prompt(), item.adapter(), item.index()),
                            item.options(),
                            item.index(),
                            item.listener(),
                            item.cancelled(),
                            item.result()));
                }
                return joining;
            }
        };
        try {
            generator.generateFeed(feed);
        } catch (RuntimeException e) {
            // generateFeed failed every prompt it had taken; the next batch starts afresh
        } finally {
            synchronized (this) {
                batchOpen = false;
                notifyAll();
            }
        }
    }

    private synchronized void release(Item item) {
        kvReservedBytes -= item.kvBytes();
        running--;
        notifyAll();
    }

    @Override
    public void close() {
        synchronized (this) {
            closed = true;
            notifyAll();
        }
        try {
            worker.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
