package dev.safemerge.tensor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Writes a safetensors file without holding the model in memory: the header is laid out up front from the tensor
 * specs, then each tensor's bytes are written at their final position, in any order and from any thread. The
 * layout follows the reference writer: tensors sorted by dtype (largest first) then name, compact JSON with
 * {@code __metadata__} first, the header padded with spaces to a multiple of 8 bytes.
 */
public final class SafetensorsWriter implements AutoCloseable {
    /** Per-thread staging buffer for writes; 1 MiB measured as fast as larger ones. */
    private static final ThreadLocal<MemorySegment> BUFFER =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(1 << 20, 4096));

    private final Path path;
    private final FileChannel channel;
    private final long dataStart;
    private final Map<String, TensorInfo> layout;
    private final Map<String, AtomicLong> bytesWritten = new LinkedHashMap<>();
    /** Bytes of tensor data the file holds once complete. */
    private final long dataBytes;

    private final AtomicLong bytesMissing;
    private volatile Runnable whenAllWritten;
    private boolean finished;

    /** The digest thread hashes once this many bytes past the hashed part are written, in large sequential reads. */
    private static final long HASH_STEP = 32L << 20;
    /** Written bytes between two flushes of the flush thread: the disk works while later bytes are computed. */
    private static final long FLUSH_STEP = 256L << 20;

    /** Guards the write progress below; waited on by the background threads. */
    private final Object progress = new Object();
    /** Written ranges (start → end, file offsets) beyond the contiguous written prefix; guarded by {@link #progress}. */
    private final TreeMap<Long, Long> writtenBeyondPrefix = new TreeMap<>();
    /** End of the prefix of the file known to be written; guarded by {@link #progress}. */
    private long prefixEnd;
    /** Set when the file is closed, so the background threads stop; guarded by {@link #progress}. */
    private boolean closed;

    /** Digest of the file's bytes in [0, hashedUpTo); guarded by {@link #hashLock}. */
    private final MessageDigest digest;

    private final ReentrantLock hashLock = new ReentrantLock();
    private long hashedUpTo;
    private String sha256;
    private final List<Thread> background = new ArrayList<>();

    private SafetensorsWriter(Path path, FileChannel channel, long dataStart, Map<String, TensorInfo> layout) {
        this.path = path;
        this.channel = channel;
        this.dataStart = dataStart;
        this.layout = layout;
        this.prefixEnd = dataStart; // the header is written before the writer exists
        try {
            this.digest = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
        layout.keySet().forEach(name -> bytesWritten.put(name, new AtomicLong()));
        this.dataBytes =
                layout.values().stream().mapToLong(TensorInfo::byteSize).sum();
        this.bytesMissing = new AtomicLong(dataBytes);
    }

    public static SafetensorsWriter create(Path path, Collection<TensorSpec> specs, Map<String, String> metadata) {
        List<TensorSpec> ordered = new ArrayList<>(specs);
        Set<String> names = new HashSet<>();
        for (TensorSpec spec : ordered) {
            if (spec.name().equals("__metadata__") || !names.add(spec.name())) {
                throw new IllegalArgumentException(
                        "duplicate or reserved tensor name '" + spec.name() + "' for " + path);
            }
        }
        ordered.sort(Comparator.comparing(TensorSpec::dtype, Comparator.reverseOrder())
                .thenComparing(TensorSpec::name, SafetensorsWriter::compareUtf8));
        Map<String, TensorInfo> layout = new LinkedHashMap<>();
        long offset = 0;
        for (TensorSpec spec : ordered) {
            long end = offset + spec.byteSize();
            layout.put(spec.name(), new TensorInfo(spec.name(), spec.dtype(), spec.shape(), offset, end));
            offset = end;
        }
        byte[] header = headerBytes(layout.values(), metadata);
        try {
            FileChannel channel = FileChannel.open(
                    path,
                    StandardOpenOption.CREATE,
                    StandardOpenOption.TRUNCATE_EXISTING,
                    StandardOpenOption.WRITE,
                    StandardOpenOption.READ);
            ByteBuffer prefix = ByteBuffer.allocate(8 + header.length).order(ByteOrder.LITTLE_ENDIAN);
            prefix.putLong(header.length).put(header).flip();
            DiskWrites.write(channel, path, prefix, 0);
            // Size the file now so that concurrent positional writes never race on extending it.
            long total = 8 + header.length + offset;
            if (total > 8 + header.length) {
                DiskWrites.write(channel, path, ByteBuffer.allocate(1), total - 1);
            }
            return new SafetensorsWriter(path, channel, 8 + header.length, layout);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + path, e);
        }
    }

    /** Orders names as the reference writer does: by their UTF-8 bytes, which is code point order. */
    static int compareUtf8(String left, String right) {
        return java.util.Arrays.compare(
                left.codePoints().toArray(), right.codePoints().toArray());
    }

    /**
     * The header exactly as the reference writer (serde_json, compact) produces it: {@code __metadata__} first
     * (its keys sorted here, where the reference's order is a hash map's), then tensors in layout order, padded with
     * spaces to a multiple of 8 bytes.
     */
    static byte[] headerBytes(Collection<TensorInfo> tensors, Map<String, String> metadata) {
        StringBuilder json = new StringBuilder(64 + 96 * tensors.size());
        json.append('{');
        boolean first = true;
        if (metadata != null && !metadata.isEmpty()) {
            json.append("\"__metadata__\":{");
            boolean firstEntry = true;
            for (Map.Entry<String, String> entry : new TreeMap<>(metadata).entrySet()) {
                if (!firstEntry) {
                    json.append(',');
                }
                firstEntry = false;
                JsonStrings.appendQuoted(json, entry.getKey());
                json.append(':');
                JsonStrings.appendQuoted(json, entry.getValue());
            }
            json.append('}');
            first = false;
        }
        for (TensorInfo info : tensors) {
            if (!first) {
                json.append(',');
            }
            first = false;
            JsonStrings.appendQuoted(json, info.name());
            json.append(":{\"dtype\":\"").append(info.dtype().safetensorsName()).append("\",\"shape\":[");
            long[] shape = info.shape();
            for (int i = 0; i < shape.length; i++) {
                if (i > 0) {
                    json.append(',');
                }
                json.append(shape[i]);
            }
            json.append("],\"data_offsets\":[")
                    .append(info.dataBegin())
                    .append(',')
                    .append(info.dataEnd())
                    .append("]}");
        }
        json.append('}');
        byte[] bytes = json.toString().getBytes(StandardCharsets.UTF_8);
        int padded = (bytes.length + 7) / 8 * 8;
        byte[] out = java.util.Arrays.copyOf(bytes, padded);
        java.util.Arrays.fill(out, bytes.length, padded, (byte) ' ');
        return out;
    }

    public Path path() {
        return path;
    }

    /** Where each tensor goes, in file order. */
    public Map<String, TensorInfo> layout() {
        return layout;
    }

    private TensorInfo spec(String name) {
        TensorInfo info = layout.get(name);
        if (info == null) {
            throw new IllegalArgumentException("tensor '" + name + "' was not declared for " + path);
        }
        return info;
    }

    /**
     * Writes raw little-endian bytes into a tensor at a byte offset; safe to call concurrently for disjoint ranges.
     * Off-heap bytes that are not a file mapping go to write(2) as they are; other bytes go through a small
     * per-thread buffer: handing a large memory-mapped range straight to write(2) makes the kernel fault the source in
     * page by page, which measured two to three times slower, and heap bytes would be copied by the JDK anyway.
     */
    public void writeBytes(String name, long byteOffset, MemorySegment bytes) {
        TensorInfo info = spec(name);
        long length = bytes.byteSize();
        checkRange(info, byteOffset, length);
        if (bytes.isNative() && !bytes.isMapped()) {
            write(info, byteOffset, bytes);
            return;
        }
        MemorySegment buffer = BUFFER.get();
        for (long done = 0; done < length; done += buffer.byteSize()) {
            long n = Math.min(buffer.byteSize(), length - done);
            MemorySegment.copy(bytes, done, buffer, 0, n);
            write(info, byteOffset + done, buffer.asSlice(0, n));
        }
    }

    /** Converts floats to the tensor's dtype (rounding to nearest even) and writes them at an element offset. */
    public void writeFloats(String name, long firstElement, float[] src, int srcOffset, int count) {
        TensorInfo info = spec(name);
        int elementSize = info.dtype().byteSize();
        checkRange(info, firstElement * elementSize, (long) count * elementSize);
        MemorySegment buffer = BUFFER.get();
        int chunkElements = (int) (buffer.byteSize() / elementSize);
        for (int done = 0; done < count; done += chunkElements) {
            int n = Math.min(chunkElements, count - done);
            MemorySegment chunk = buffer.asSlice(0, (long) n * elementSize);
            FloatConversion.encode(info.dtype(), src, srcOffset + done, chunk, n);
            write(info, (firstElement + done) * elementSize, chunk);
        }
    }

    private static void checkRange(TensorInfo info, long byteOffset, long length) {
        if (byteOffset < 0 || length < 0 || byteOffset > info.byteSize() - length) {
            throw new IndexOutOfBoundsException("bytes " + byteOffset + "+" + length + " of " + info);
        }
    }

    private void write(TensorInfo info, long byteOffset, MemorySegment chunk) {
        long start = dataStart + info.dataBegin() + byteOffset;
        try {
            DiskWrites.write(channel, path, chunk.asByteBuffer(), start);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + path, e);
        }
        boolean last;
        synchronized (progress) {
            writtenBeyondPrefix.merge(start, start + chunk.byteSize(), Math::max);
            Map.Entry<Long, Long> first;
            while ((first = writtenBeyondPrefix.firstEntry()) != null && first.getKey() <= prefixEnd) {
                prefixEnd = Math.max(prefixEnd, first.getValue());
                writtenBeyondPrefix.pollFirstEntry();
            }
            bytesWritten.get(info.name()).addAndGet(chunk.byteSize());
            last = bytesMissing.addAndGet(-chunk.byteSize()) == 0;
            progress.notifyAll();
        }
        if (last) {
            Runnable action = whenAllWritten;
            if (action != null) {
                action.run();
            }
        }
    }

    /**
     * Hashes the file and hands its pages to the disk while it is being written, on two background threads: one
     * hashes the contiguous written prefix (read back from the page cache) as it grows, the other flushes every
     * {@link #FLUSH_STEP} written bytes. Without them, {@link #sha256()} hashes the whole file at once and
     * {@link #finish()} waits for all of it to reach the disk; with them, only the tail is left for both.
     */
    public void digestAndFlushWhileWriting() {
        synchronized (progress) {
            if (!background.isEmpty() || closed) {
                return;
            }
            background.add(Thread.ofPlatform()
                    .daemon()
                    .name("sha256 " + path.getFileName())
                    .start(this::digestLoop));
            background.add(Thread.ofPlatform()
                    .daemon()
                    .name("flush " + path.getFileName())
                    .start(this::flushLoop));
        }
    }

    private void digestLoop() {
        long fileEnd = dataStart + dataBytes;
        hashLock.lock();
        try {
            long hashed = hashedUpTo;
            while (hashed < fileEnd) {
                long end;
                synchronized (progress) {
                    while (!closed && prefixEnd - hashed < HASH_STEP && prefixEnd < fileEnd) {
                        progress.wait();
                    }
                    if (closed) {
                        return;
                    }
                    end = prefixEnd;
                }
                hashUpTo(end);
                hashed = end;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (UncheckedIOException e) {
            // The file was closed under the read (a failed write); sha256() is never asked for then.
        } finally {
            hashLock.unlock();
        }
    }

    private void flushLoop() {
        long flushed = 0;
        try {
            while (flushed < dataBytes) {
                long written;
                synchronized (progress) {
                    while (!closed && dataBytes - bytesMissing.get() - flushed < FLUSH_STEP && bytesMissing.get() > 0) {
                        progress.wait();
                    }
                    if (closed) {
                        return;
                    }
                    written = dataBytes - bytesMissing.get();
                }
                channel.force(false);
                flushed = written;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException e) {
            // Early flushes only save time at the end; finish() flushes again and reports any error.
        }
    }

    /**
     * Feeds the file's bytes in [hashedUpTo, end) to the digest through a read-only mapping of the range, which reads
     * the page cache without copying it first; the caller holds {@link #hashLock}.
     */
    private void hashUpTo(long end) {
        try {
            while (hashedUpTo < end) {
                long length = Math.min(HASH_STEP, end - hashedUpTo);
                try (Arena arena = Arena.ofConfined()) {
                    digest.update(channel.map(FileChannel.MapMode.READ_ONLY, hashedUpTo, length, arena)
                            .asByteBuffer());
                }
                hashedUpTo += length;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + path, e);
        }
    }

    /**
     * The SHA-256 of the whole file, in hex, once every byte is written. With {@link #digestAndFlushWhileWriting()}
     * this waits for the digest thread, which has hashed most of the file already.
     */
    public String sha256() {
        checkComplete();
        hashLock.lock();
        try {
            if (sha256 == null) {
                hashUpTo(channel.size());
                sha256 = HexFormat.of().formatHex(digest.digest());
            }
            return sha256;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + path, e);
        } finally {
            hashLock.unlock();
        }
    }

    /**
     * Runs {@code action} on the writing thread once as many bytes as the tensors hold have been written (so that
     * the file can be flushed and hashed while other files are still being written). Overlapping writes could make
     * that early; {@link #checkComplete()} still catches them.
     */
    void whenAllWritten(Runnable action) {
        this.whenAllWritten = action;
        if (bytesMissing.get() == 0) {
            action.run();
        }
    }

    public void writeFloats(String name, float[] values) {
        writeFloats(name, 0, values, 0, values.length);
    }

    /** Checks that every declared byte was written and forces the file to disk. */
    public void finish() {
        checkComplete();
        try {
            channel.force(true);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot flush " + path, e);
        }
        finished = true;
    }

    /** Throws unless every declared byte was written (counted per tensor). */
    public void checkComplete() {
        for (Map.Entry<String, AtomicLong> entry : bytesWritten.entrySet()) {
            long expected = layout.get(entry.getKey()).byteSize();
            if (entry.getValue().get() != expected) {
                throw new IllegalStateException("tensor '" + entry.getKey() + "' in " + path + " got "
                        + entry.getValue().get() + " of " + expected + " bytes");
            }
        }
    }

    public boolean finished() {
        return finished;
    }

    @Override
    public void close() {
        synchronized (progress) {
            closed = true;
            progress.notifyAll();
        }
        try {
            for (Thread thread : background) {
                thread.join();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            channel.close();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot close " + path, e);
        }
    }
}
