package dev.safemerge.merge;

import dev.safemerge.merge.kernel.Precision;
import dev.safemerge.tensor.BadInputException;
import dev.safemerge.tensor.DType;
import dev.safemerge.tensor.FloatConversion;
import dev.safemerge.tensor.ModelWriter;
import dev.safemerge.tensor.Progress;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Runs a plan tensor by tensor over the memory-mapped inputs and writes each result into its shard as soon as it is
 * produced. Tensors run in parallel; elementwise methods also split large tensors into chunks. A memory budget
 * bounds the bytes held by running jobs, so peak memory stays a few times the largest tensor whatever the model size.
 */
public final class MergeExecutor {
    /** Elements per chunk of an elementwise merge: 16 MB of float per input, large enough to stream at disk speed. */
    static final int CHUNK_ELEMENTS = 1 << 22;
    /** Elements per block within a chunk: 64 KB of float per input, so the steps of a merge run from cache. */
    static final int BLOCK_ELEMENTS = 1 << 14;
    /** Input arrays up to this size stay with their worker between jobs; larger ones are left to the collector. */
    private static final long KEPT_BUFFER_BYTES = Runtime.getRuntime().maxMemory() / 32;

    private static final ThreadLocal<float[][]> INPUT_BUFFERS = new ThreadLocal<>();
    /** The values of inputs handed to a fused BF16 merge as stored bytes instead. */
    private static final float[] NO_VALUES = new float[0];

    /**
     * @param memoryBudgetBytes bytes that running jobs may hold at once; a job larger than the budget runs alone
     */
    public record Options(int threads, long seed, long memoryBudgetBytes, Progress.Factory progress) {
        public static Options defaults(int threads, long seed, Progress.Factory progress) {
            return new Options(threads, seed, (long) (Runtime.getRuntime().maxMemory() * 0.6), progress);
        }
    }

    private record Job(TensorTask task, int taskIndex, long firstElement, int count, boolean chunked, int costMib) {}

    private MergeExecutor() {}

    public static void execute(List<TensorTask> tasks, MergeMethod method, ModelWriter writer, Options options) {
        List<Job> jobs = jobs(tasks, method, writer.fileOrder());
        long totalBytes = 0;
        for (TensorTask task : tasks) {
            totalBytes += task.spec().byteSize();
        }
        int budgetMib = (int) Math.max(1, Math.min(Integer.MAX_VALUE, options.memoryBudgetBytes() >> 20));
        Semaphore memory = new Semaphore(budgetMib);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        AtomicInteger tensorsDone = new AtomicInteger();
        int[] chunksLeft = new int[tasks.size()];
        for (Job job : jobs) {
            chunksLeft[job.taskIndex()]++;
        }
        ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, options.threads()), runnable -> {
            Thread thread = new Thread(runnable, "merge-worker");
            thread.setDaemon(true);
            return thread;
        });
        List<Future<?>> futures = new ArrayList<>();
        try (Progress progress = options.progress().start("merge", totalBytes, "B")) {
            for (Job job : jobs) {
                int permits = Math.min(job.costMib(), budgetMib);
                memory.acquireUninterruptibly(permits);
                if (failure.get() != null) {
                    memory.release(permits);
                    break;
                }
                futures.add(pool.submit(() -> {
                    try {
                        if (failure.get() == null) {
                            run(job, method, writer, options.seed());
                            progress.step(
                                    (long) job.count() * job.task().outDtype().byteSize());
                            if (finishChunk(chunksLeft, job)) {
                                progress.message(tensorsDone.incrementAndGet() + "/" + tasks.size() + " tensors");
                            }
                        }
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    } finally {
                        memory.release(permits);
                    }
                }));
            }
            for (Future<?> future : futures) {
                try {
                    future.get();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("merge interrupted", e);
                } catch (ExecutionException e) {
                    failure.compareAndSet(null, e.getCause());
                }
            }
        } finally {
            pool.shutdownNow();
        }
        Throwable error = failure.get();
        if (error instanceof RuntimeException runtime) {
            throw runtime;
        }
        if (error instanceof Error fatal) {
            throw fatal;
        }
        if (error != null) {
            throw new IllegalStateException(error);
        }
    }

    private static boolean finishChunk(int[] chunksLeft, Job job) {
        if (!job.chunked()) {
            return true;
        }
        synchronized (chunksLeft) {
            return --chunksLeft[job.taskIndex()] == 0;
        }
    }

    /** Jobs in the order of the output file, so that the written prefix (hashed and flushed early) grows steadily. */
    private static List<Job> jobs(List<TensorTask> tasks, MergeMethod method, List<String> fileOrder) {
        Map<String, Integer> position = new HashMap<>();
        for (int i = 0; i < fileOrder.size(); i++) {
            position.put(fileOrder.get(i), i);
        }
        List<Integer> order = new ArrayList<>();
        for (int index = 0; index < tasks.size(); index++) {
            order.add(index);
        }
        order.sort(Comparator.comparingInt(
                index -> position.getOrDefault(tasks.get(index).name(), Integer.MAX_VALUE)));
        List<Job> jobs = new ArrayList<>();
        for (int index : order) {
            TensorTask task = tasks.get(index);
            long elements = task.elementCount();
            int inputs = task.inputs().size();
            if (method.elementwise() && elements > CHUNK_ELEMENTS) {
                long row = task.rowLength();
                long chunk = Math.max(row, CHUNK_ELEMENTS / row * row);
                if (chunk > Integer.MAX_VALUE - 8) {
                    chunk = CHUNK_ELEMENTS;
                }
                for (long first = 0; first < elements; first += chunk) {
                    int count = (int) Math.min(chunk, elements - first);
                    jobs.add(new Job(task, index, first, count, true, costMib(count, inputs + 2)));
                }
            } else {
                if (elements > Integer.MAX_VALUE - 8) {
                    throw new BadInputException("tensor '" + task.name() + "' has " + elements + " elements; "
                            + method.name() + " needs the whole tensor in memory and supports at most 2^31");
                }
                // Inputs, task vectors, pruned and weighted copies, masks and the result.
                jobs.add(new Job(task, index, 0, (int) elements, false, costMib(elements, 3 * inputs + 3)));
            }
        }
        return jobs;
    }

    /** The task's random masks, keyed by the position of each input so that they do not depend on its path. */
    private static MaskSource masks(long seed, TensorTask task) {
        return MaskSource.seeded(seed, task.name())
                .byPosition(task.inputs().stream().map(TensorTask.Input::model).toList());
    }

    private static int costMib(long elements, int floatsPerElement) {
        return (int) Math.min(Integer.MAX_VALUE, (elements * 4L * floatsPerElement >> 20) + 1);
    }

    private static void run(Job job, MergeMethod method, ModelWriter writer, long seed) {
        TensorTask task = job.task();
        List<TensorIo> sources = new ArrayList<>();
        for (TensorTask.Input input : task.inputs()) {
            sources.add(TensorIo.open(input.source(), input.sourceName()));
        }
        Output out = new Output(writer, task, job.firstElement());
        if (method instanceof StoredBf16Merge fused && storedBf16(task, sources)) {
            List<MergeInput> context = new ArrayList<>();
            List<MemorySegment> inputs = new ArrayList<>();
            for (int i = 0; i < sources.size(); i++) {
                TensorTask.Input input = task.inputs().get(i);
                context.add(new MergeInput(input.model(), NO_VALUES, input.params()));
                inputs.add(sources.get(i).bytes().asSlice(job.firstElement() * 2, (long) job.count() * 2));
            }
            TensorGroup group = new TensorGroup(
                    task.name(),
                    job.chunked() ? new long[] {job.count()} : task.shape(),
                    task.embedding(),
                    context,
                    task.baseIndex(),
                    task.global(),
                    task.precision(),
                    masks(seed, task));
            fused.mergeStoredBf16(group, inputs, job.count(), out::reserve);
        } else {
            mergeBlocks(job, method, seed, sources, out);
        }
        out.flush();
        for (int i = 0; i < sources.size(); i++) {
            release(sources.get(i), task.inputs().get(i), task.shape(), job.firstElement(), job.count());
        }
    }

    /** Merges a job block by block (one block for whole-tensor methods) through float arrays. */
    private static void mergeBlocks(Job job, MergeMethod method, long seed, List<TensorIo> sources, Output out) {
        TensorTask task = job.task();
        int block = method.elementwise() ? blockLength(task, job.count()) : job.count();
        float[][] buffers = inputBuffers(task.inputs().size());
        for (int first = 0; first < job.count(); first += block) {
            int count = Math.min(block, job.count() - first);
            List<MergeInput> inputs = new ArrayList<>();
            for (int i = 0; i < task.inputs().size(); i++) {
                TensorTask.Input input = task.inputs().get(i);
                if (buffers[i] == null || buffers[i].length != count) {
                    buffers[i] = new float[count];
                }
                float[] values = buffers[i];
                read(sources.get(i), input, task.shape(), job.firstElement() + first, values);
                if (!sources.get(i).exactIn(task.precision())) {
                    task.precision().roundAll(values);
                }
                inputs.add(new MergeInput(input.model(), values, input.params()));
            }
            TensorGroup group = new TensorGroup(
                    task.name(),
                    block == job.count() && !job.chunked() ? task.shape() : new long[] {count},
                    task.embedding(),
                    inputs,
                    task.baseIndex(),
                    task.global(),
                    task.precision(),
                    masks(seed, task));
            float[] result = method.merge(group);
            for (int done = 0; done < count; done += CHUNK_ELEMENTS) {
                int n = Math.min(CHUNK_ELEMENTS, count - done);
                FloatConversion.encode(task.outDtype(), result, done, out.reserve(n), n);
            }
        }
        for (int i = 0; i < buffers.length; i++) {
            if (buffers[i] != null && buffers[i].length * 4L > KEPT_BUFFER_BYTES) {
                buffers[i] = null;
            }
        }
    }

    /**
     * The worker's input arrays, kept from one job to the next when small enough: consecutive tensors mostly have the
     * same size, and allocating (zeroing) their arrays anew costs as much as a pass of the merge.
     */
    private static float[][] inputBuffers(int inputs) {
        float[][] buffers = INPUT_BUFFERS.get();
        if (buffers == null || buffers.length != inputs) {
            buffers = new float[inputs][];
            INPUT_BUFFERS.set(buffers);
        }
        return buffers;
    }

    /**
     * The encoded output of a job on its way to the writer: an off-heap buffer (one per worker thread, at most
     * {@link #CHUNK_ELEMENTS} elements) that goes to write(2) without a copy and is written out whenever it is full.
     */
    private static final class Output {
        private static final ThreadLocal<MemorySegment> BUFFER = new ThreadLocal<>();

        private final ModelWriter writer;
        private final String name;
        private final int bytesPerElement;
        private final MemorySegment buffer;
        private long nextElement;
        private long buffered;

        Output(ModelWriter writer, TensorTask task, long firstElement) {
            this.writer = writer;
            this.name = task.name();
            this.bytesPerElement = task.outDtype().byteSize();
            this.nextElement = firstElement;
            long capacity = (long) CHUNK_ELEMENTS * bytesPerElement;
            MemorySegment cached = BUFFER.get();
            if (cached == null || cached.byteSize() < capacity) {
                cached = Arena.ofAuto().allocate(capacity, 64);
                BUFFER.set(cached);
            }
            this.buffer = cached;
        }

        /** Room for the next {@code count} (≤ {@link #CHUNK_ELEMENTS}) elements, written out first if needed. */
        MemorySegment reserve(int count) {
            long bytes = (long) count * bytesPerElement;
            if (buffered + bytes > buffer.byteSize()) {
                flush();
            }
            MemorySegment room = buffer.asSlice(buffered, bytes);
            buffered += bytes;
            return room;
        }

        void flush() {
            if (buffered > 0) {
                writer.writeBytes(name, nextElement * bytesPerElement, buffer.asSlice(0, buffered));
                nextElement += buffered / bytesPerElement;
                buffered = 0;
            }
        }
    }

    /** True when every input is stored BF16 at the task's shape and the merge computes and writes bf16. */
    private static boolean storedBf16(TensorTask task, List<TensorIo> sources) {
        if (task.precision() != Precision.BF16 || task.outDtype() != DType.BF16) {
            return false;
        }
        for (int i = 0; i < sources.size(); i++) {
            TensorIo source = sources.get(i);
            if (source.bytes() == null
                    || source.dtype() != DType.BF16
                    || !Arrays.equals(task.inputs().get(i).storedShape(), task.shape())) {
                return false;
            }
        }
        return true;
    }

    /**
     * Elements merged at a time by an elementwise method: whole rows (a LoRA view computes a row per read), about
     * {@link #BLOCK_ELEMENTS} of them, so each block's inputs and result stay in the core's cache between steps.
     */
    private static int blockLength(TensorTask task, int count) {
        long row = task.rowLength();
        return (int) Math.min(count, Math.max(row, BLOCK_ELEMENTS / row * row));
    }

    /** Reads elements of the task-shaped view of an input; a larger stored embedding is read as its top-left block. */
    private static void read(TensorIo source, TensorTask.Input input, long[] shape, long firstElement, float[] dst) {
        long[] stored = input.storedShape();
        if (Arrays.equals(stored, shape)) {
            source.read(firstElement, dst, 0, dst.length);
            return;
        }
        long cols = shape[1];
        long storedCols = stored[1];
        int offset = 0;
        long element = firstElement;
        while (offset < dst.length) {
            long row = element / cols;
            long col = element % cols;
            int n = (int) Math.min(cols - col, dst.length - offset);
            source.read(row * storedCols + col, dst, offset, n);
            offset += n;
            element += n;
        }
    }

    /** Releases the mapped pages behind elements of the task-shaped view once they have been read. */
    private static void release(TensorIo source, TensorTask.Input input, long[] shape, long firstElement, long count) {
        long[] stored = input.storedShape();
        if (Arrays.equals(stored, shape)) {
            source.release(firstElement, count);
            return;
        }
        long firstRow = firstElement / shape[1];
        long endRow = (firstElement + count + shape[1] - 1) / shape[1];
        source.release(firstRow * stored[1], (endRow - firstRow) * stored[1]);
    }
}
