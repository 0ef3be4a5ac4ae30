package dev.safemerge.tensor;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;

/**
 * Writes a Hugging Face model directory without holding the model in memory. The shards are planned up front as
 * {@code save_pretrained} does (tensors in the given order; a new shard starts when the next tensor would push the
 * current one past the limit; a tensor larger than the limit gets a shard of its own), their headers are written
 * immediately, and tensor data can then be written in any order and from any thread. {@link #commit()} checks
 * that every byte arrived, fsyncs, writes {@code SHA256SUMS} and renames the directory into place atomically;
 * {@link #close()} without a commit leaves nothing behind.
 */
public final class ModelWriter implements AutoCloseable {
    public static final String CHECKSUMS = "SHA256SUMS";

    private final AtomicDirectory output;
    private final List<SafetensorsWriter> shards;
    private final Map<String, SafetensorsWriter> shardByTensor;
    private final Map<String, TensorSpec> specs;
    /** Flushes and hashes each shard as soon as all its bytes are written, while later shards are still written. */
    private final ExecutorService finishing;

    private final Map<SafetensorsWriter, Future<String>> shardHashes = new java.util.concurrent.ConcurrentHashMap<>();
    private boolean committed;

    private ModelWriter(
            AtomicDirectory output,
            List<SafetensorsWriter> shards,
            Map<String, SafetensorsWriter> shardByTensor,
            Map<String, TensorSpec> specs) {
        this.output = output;
        this.shards = shards;
        this.shardByTensor = shardByTensor;
        this.specs = specs;
        this.finishing = Executors.newFixedThreadPool(
                Math.max(1, Math.min(shards.size(), Runtime.getRuntime().availableProcessors())),
                Thread.ofPlatform().daemon().name("model-writer-finish-", 0).factory());
        for (SafetensorsWriter shard : shards) {
            shard.digestAndFlushWhileWriting();
            shard.whenAllWritten(() -> shardHashes.computeIfAbsent(shard, this::finishShard));
        }
    }

    private Future<String> finishShard(SafetensorsWriter shard) {
        return finishing.submit(() -> {
            shard.finish();
            return shard.sha256();
        });
    }

    /** Same as {@code create(outDir, tensors, maxShardBytes, metadata, false)}. */
    public static ModelWriter create(
            Path outDir, List<TensorSpec> tensors, long maxShardBytes, Map<String, String> metadata) {
        return create(outDir, tensors, maxShardBytes, metadata, false);
    }

    /**
     * Plans the shards and writes their headers into a temporary directory beside {@code outDir}.
     *
     * @param tensors every tensor the model will hold, in the order they are assigned to shards
     * @param maxShardBytes the shard size limit in tensor bytes (see {@link ByteSizes#parse})
     * @param metadata {@code __metadata__} of every shard; {@code "format": "pt"} is added when absent because
     *     transformers refuses safetensors files without it
     * @param overwrite replace an existing non-empty {@code outDir} on commit instead of refusing it
     */
    @SuppressWarnings("MustBeClosedChecker") // shard writers are owned by the returned ModelWriter
    public static ModelWriter create(
            Path outDir,
            List<TensorSpec> tensors,
            long maxShardBytes,
            Map<String, String> metadata,
            boolean overwrite) {
        if (maxShardBytes <= 0) {
            throw new IllegalArgumentException("maxShardBytes must be positive, got " + maxShardBytes);
        }
        Map<String, TensorSpec> specs = new LinkedHashMap<>();
        for (TensorSpec spec : tensors) {
            if (specs.put(spec.name(), spec) != null || spec.name().equals("__metadata__")) {
                throw new IllegalArgumentException("duplicate or reserved tensor name '" + spec.name() + "'");
            }
        }
        if (specs.isEmpty()) {
            throw new IllegalArgumentException("a model needs at least one tensor");
        }
        Map<String, String> shardMetadata = new TreeMap<>(metadata == null ? Map.of() : metadata);
        shardMetadata.putIfAbsent("format", "pt");
        List<List<TensorSpec>> plan = planShards(tensors, maxShardBytes);
        AtomicDirectory output = AtomicDirectory.begin(outDir, overwrite);
        List<SafetensorsWriter> shards = new ArrayList<>();
        Map<String, SafetensorsWriter> shardByTensor = new HashMap<>();
        try {
            Map<String, String> weightMap = new TreeMap<>();
            for (int i = 0; i < plan.size(); i++) {
                String fileName = plan.size() == 1 ? ModelDirectory.SINGLE_FILE : shardName(i + 1, plan.size());
                SafetensorsWriter shard =
                        SafetensorsWriter.create(output.path().resolve(fileName), plan.get(i), shardMetadata);
                shards.add(shard);
                for (TensorSpec spec : plan.get(i)) {
                    shardByTensor.put(spec.name(), shard);
                    weightMap.put(spec.name(), fileName);
                }
            }
            if (plan.size() > 1) {
                writeIndex(output.path().resolve(ModelDirectory.INDEX), specs, weightMap);
            }
            return new ModelWriter(output, shards, shardByTensor, Collections.unmodifiableMap(specs));
        } catch (RuntimeException e) {
            shards.forEach(SafetensorsWriter::close);
            output.close();
            throw e;
        }
    }

    /** Splits tensors into shards the way {@code save_pretrained} does, preserving their order. */
    static List<List<TensorSpec>> planShards(List<TensorSpec> tensors, long maxShardBytes) {
        List<List<TensorSpec>> shards = new ArrayList<>();
        List<TensorSpec> current = new ArrayList<>();
        long currentBytes = 0;
        for (TensorSpec spec : tensors) {
            long size = spec.byteSize();
            if (size > maxShardBytes) {
                if (!current.isEmpty()) {
                    shards.add(current);
                    current = new ArrayList<>();
                    currentBytes = 0;
                }
                shards.add(List.of(spec));
                continue;
            }
            if (!current.isEmpty() && currentBytes + size > maxShardBytes) {
                shards.add(current);
                current = new ArrayList<>();
                currentBytes = 0;
            }
            current.add(spec);
            currentBytes += size;
        }
        if (!current.isEmpty()) {
            shards.add(current);
        }
        return shards;
    }

    static String shardName(int index, int count) {
        return String.format(Locale.ROOT, "model-%05d-of-%05d.safetensors", index, count);
    }

    private static void writeIndex(Path file, Map<String, TensorSpec> specs, Map<String, String> weightMap) {
        long totalSize = 0;
        for (TensorSpec spec : specs.values()) {
            totalSize += spec.byteSize();
        }
        ObjectMapper json = JsonMappers.plain();
        ObjectNode root = json.createObjectNode();
        root.putObject("metadata").put("total_size", totalSize);
        ObjectNode map = root.putObject("weight_map");
        weightMap.forEach(map::put);
        try {
            DiskWrites.writeFile(
                    file,
                    (json.writerWithDefaultPrettyPrinter().writeValueAsString(root) + "\n")
                            .getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }

    /** The directory being written (temporary until {@link #commit()}). */
    public Path workingDirectory() {
        return output.path();
    }

    /** Where the model will be after {@link #commit()}. */
    public Path target() {
        return output.target();
    }

    /** The declared tensors in the order given to {@link #create}. */
    public Map<String, TensorSpec> tensors() {
        return specs;
    }

    /**
     * Tensor names in the order their bytes lie in the output, shard after shard. Producing tensors in this order
     * lets each shard's written prefix, which is hashed and flushed while later bytes arrive, grow steadily.
     */
    public List<String> fileOrder() {
        List<String> names = new ArrayList<>();
        for (SafetensorsWriter shard : shards) {
            names.addAll(shard.layout().keySet());
        }
        return names;
    }

    /** Shard file name of every tensor. */
    public Map<String, String> weightMap() {
        Map<String, String> map = new TreeMap<>();
        shardByTensor.forEach(
                (name, shard) -> map.put(name, shard.path().getFileName().toString()));
        return map;
    }

    private SafetensorsWriter shardOf(String name) {
        SafetensorsWriter shard = shardByTensor.get(name);
        if (shard == null) {
            throw new IllegalArgumentException("tensor '" + name + "' was not declared for " + target());
        }
        return shard;
    }

    /** Converts floats to the tensor's dtype (round to nearest even) and writes them; thread-safe for disjoint ranges. */
    public void writeFloats(String name, long firstElement, float[] src, int srcOffset, int count) {
        shardOf(name).writeFloats(name, firstElement, src, srcOffset, count);
    }

    /** Writes a whole float tensor. */
    public void writeFloats(String name, float[] values) {
        writeFloats(name, 0, values, 0, values.length);
    }

    /** Writes stored bytes at a byte offset of a tensor; thread-safe for disjoint ranges. */
    public void writeBytes(String name, long byteOffset, MemorySegment bytes) {
        shardOf(name).writeBytes(name, byteOffset, bytes);
    }

    /** Writes a small file (config.json, a model card) into the model directory. */
    public void writeFile(String fileName, byte[] content) {
        Path file = fileInside(fileName);
        try {
            DiskWrites.writeFile(file, content);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }

    /** Copies a file (a tokenizer, generation_config.json) into the model directory under {@code fileName}. */
    public void copyFile(Path source, String fileName) {
        Path file = fileInside(fileName);
        try {
            DiskWrites.writeFile(file, Files.readAllBytes(source));
        } catch (IOException e) {
            throw new BadInputException(source + ": cannot copy into the output: " + e.getMessage(), e);
        }
    }

    private Path fileInside(String fileName) {
        if (fileName.isEmpty()
                || fileName.contains("/")
                || fileName.contains("\\")
                || fileName.equals(".")
                || fileName.equals("..")) {
            throw new IllegalArgumentException("'" + fileName + "' is not a plain file name");
        }
        if (fileName.equals(CHECKSUMS)
                || fileName.equals(ModelDirectory.INDEX)
                || shards.stream()
                        .anyMatch(s -> s.path().getFileName().toString().equals(fileName))) {
            throw new IllegalArgumentException("'" + fileName + "' is written by the model writer itself");
        }
        return output.path().resolve(fileName);
    }

    /**
     * Checks that every tensor byte was written, fsyncs the shards, writes {@code SHA256SUMS} over every file, and
     * renames the directory onto the target.
     */
    public void commit() {
        for (SafetensorsWriter shard : shards) {
            shard.checkComplete();
        }
        Map<Path, Future<String>> hashes = new TreeMap<>();
        for (SafetensorsWriter shard : shards) {
            hashes.put(shard.path(), shardHashes.computeIfAbsent(shard, this::finishShard));
        }
        for (Path file : listFiles(output.path())) {
            hashes.computeIfAbsent(file, f -> finishing.submit(() -> sha256(f)));
        }
        StringBuilder sums = new StringBuilder();
        for (Map.Entry<Path, Future<String>> entry : hashes.entrySet()) {
            sums.append(await(entry.getValue()))
                    .append("  ")
                    .append(entry.getKey().getFileName())
                    .append('\n');
        }
        try {
            DiskWrites.writeFile(
                    output.path().resolve(CHECKSUMS), sums.toString().getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write checksums in " + output.path(), e);
        }
        finishing.shutdown();
        shards.forEach(SafetensorsWriter::close);
        output.commit();
        committed = true;
    }

    private static <T> T await(Future<T> future) {
        try {
            return future.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while committing", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException runtime) {
                throw runtime;
            }
            throw new IllegalStateException(e.getCause());
        }
    }

    private static List<Path> listFiles(Path dir) {
        try (Stream<Path> list = Files.list(dir)) {
            return list.filter(Files::isRegularFile)
                    .filter(p -> !p.getFileName().toString().equals(CHECKSUMS))
                    .sorted()
                    .toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + dir, e);
        }
    }

    /** Lowercase hex SHA-256 of a file's content. */
    public static String sha256(Path file) {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            ByteBuffer buffer = ByteBuffer.allocateDirect(1 << 20);
            while (channel.read(buffer) >= 0) {
                buffer.flip();
                digest.update(buffer);
                buffer.clear();
            }
            return HexFormat.of().formatHex(digest.digest());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
    }

    /** Abandons the output unless {@link #commit()} succeeded: the temporary directory is deleted. */
    @Override
    public void close() {
        finishing.shutdownNow();
        try {
            if (!finishing.awaitTermination(1, java.util.concurrent.TimeUnit.MINUTES)) {
                throw new IllegalStateException("shard flushes of " + target() + " did not stop");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (!committed) {
            shards.forEach(SafetensorsWriter::close);
        }
        output.close();
    }
}
