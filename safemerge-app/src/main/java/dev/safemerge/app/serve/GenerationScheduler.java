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
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

/**
 * Batches the prompts of concurrent requests into engine calls. Prompts wait in a bounded queue; one worker takes
 * the oldest prompt and every queued prompt for the same loaded model and sampling setting, up to the batch size,
 * and runs them as one batch, each with its own adapter (or none) over the model's one copy of the weights. Prompts
 * that arrive while a batch runs join the next one. A full queue refuses new requests.
 */
final class GenerationScheduler implements AutoCloseable {
    private static final java.security.SecureRandom RANDOM = new java.security.SecureRandom();

    private final int maxBatch;
    private final int maxQueued;
    private final Deque<Item> queue = new ArrayDeque<>();
    private final Thread worker;
    private final AtomicInteger batches = new AtomicInteger();
    private boolean closed;

    GenerationScheduler(int maxBatch, int maxQueued) {
        this.maxBatch = maxBatch;
        this.maxQueued = maxQueued;
        this.worker = Thread.ofPlatform().name("generation").daemon().start(this::work);
    }

    /** One prompt of a request. */
    private record Item(
            TextGenerator generator,
            ScaledAdapter adapter,
            int[] prompt,
            Sampling options,
            boolean randomSeed,
            int index,
            TextGenerator.TextListener listener,
            BooleanSupplier cancelled,
            CompletableFuture<TextGenerator.Completion> result) {}

    /**
     * Queues the prompts of one request for {@code generator}, each run with {@code adapter} (null: the model as
     * loaded). The listener receives text deltas keyed by the prompt's index in
     * {@code prompts}; it runs on the worker thread and must not block.
     *
     * @param randomSeed the request gave no seed: it may share a batch with other such requests, which then all
     *     sample with one fresh seed
     * @param cancelled turns true when nobody waits for the answer any more (the client went away): its prompts
     *     leave the queue, or stop generating at their next token
     * @throws ApiException 429 when the queue cannot take all prompts
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
        synchronized (this) {
            if (closed) {
                throw new ApiException(503, "server_error", "the server is shutting down", null, null);
            }
            if (queue.size() + prompts.size() > maxQueued) {
                throw ApiException.overloaded(queue.size());
            }
            for (int i = 0; i < prompts.size(); i++) {
                CompletableFuture<TextGenerator.Completion> future = new CompletableFuture<>();
                queue.addLast(new Item(
                        generator, adapter, prompts.get(i), options, randomSeed, i, listener, cancelled, future));
                futures.add(future);
            }
            notifyAll();
        }
        return CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new))
                .thenApply(done -> futures.stream().map(CompletableFuture::join).toList());
    }

    /** Number of engine batches run so far. */
    int batches() {
        return batches.get();
    }

    private void work() {
        while (true) {
            List<Item> batch = nextBatch();
            if (batch == null) {
                return;
            }
            run(batch);
        }
    }

    private synchronized List<Item> nextBatch() {
        do {
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
            queue.removeIf(
                    item -> item.cancelled().getAsBoolean() && item.result().cancel(false));
        } while (queue.isEmpty());
        Item first = queue.pollFirst();
        List<Item> batch = new ArrayList<>(List.of(first));
        int limit = Math.min(maxBatch, first.generator().maxBatch());
        Sampling sampling = first.options().batchKey();
        for (Iterator<Item> it = queue.iterator(); it.hasNext() && batch.size() < limit; ) {
            Item item = it.next();
            if (item.generator() == first.generator()
                    && item.randomSeed() == first.randomSeed()
                    && item.options().batchKey().equals(sampling)) {
                batch.add(item);
                it.remove();
            }
        }
        return batch;
    }

    private void run(List<Item> batch) {
        batches.incrementAndGet();
        TextGenerator generator = batch.getFirst().generator();
        long seed = RANDOM.nextLong();
        List<SequenceSpec> sequences = new ArrayList<>();
        for (int i = 0; i < batch.size(); i++) {
            sequences.add(new SequenceSpec(batch.get(i).prompt(), batch.get(i).adapter(), i));
        }
        try {
            List<TextGenerator.Completion> completions = generator.generateSequences(
                    sequences,
                    batch.stream()
                            .map(item -> item.randomSeed() ? item.options().withSeed(seed) : item.options())
                            .toList(),
                    (sequence, delta) -> {
                        Item item = batch.get(sequence);
                        item.listener().onText(item.index(), delta);
                    },
                    sequence -> batch.get(sequence).cancelled().getAsBoolean());
            for (int i = 0; i < batch.size(); i++) {
                batch.get(i).result().complete(completions.get(i));
            }
        } catch (RuntimeException e) {
            batch.forEach(item -> item.result().completeExceptionally(e));
        }
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
