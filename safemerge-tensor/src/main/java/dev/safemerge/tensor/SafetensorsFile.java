package dev.safemerge.tensor;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * A safetensors file, memory-mapped and validated as untrusted input. Tensors are read lazily: opening parses only
 * the header, and each tensor's bytes are touched only when asked for. Files and tensors may exceed 2 GiB.
 */
public final class SafetensorsFile implements TensorSource {
    /** The reference implementation refuses headers above this size; so do we. */
    public static final long MAX_HEADER_BYTES = 100_000_000L;

    /** One stored BF16 or F16 value (little-endian, any alignment). */
    public static final ValueLayout.OfShort SHORT_LE =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    static final ValueLayout.OfFloat FLOAT_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfDouble DOUBLE_LE = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfLong LONG_LE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private static final ObjectMapper STRICT_JSON = JsonMappers.strict();

    private final Path path;
    private final Arena arena;
    private final MemorySegment data;
    private final long headerLength;
    private final Map<String, TensorInfo> tensors;
    private final Map<String, String> metadata;
    private final SortedSet<String> sortedNames;

    private SafetensorsFile(
            Path path,
            Arena arena,
            MemorySegment data,
            long headerLength,
            Map<String, TensorInfo> tensors,
            Map<String, String> metadata) {
        this.path = path;
        this.arena = arena;
        this.data = data;
        this.headerLength = headerLength;
        this.tensors = tensors;
        this.metadata = metadata;
        this.sortedNames = Collections.unmodifiableSortedSet(new TreeSet<>(tensors.keySet()));
    }

    /** Opens and validates {@code path}; every problem is a {@link BadInputException} naming the file and tensor. */
    @SuppressWarnings("MustBeClosedChecker") // the arena lives as long as the returned file, which closes it
    public static SafetensorsFile open(Path path) {
        String file = path.toString();
        Arena arena = Arena.ofShared();
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = channel.size();
            if (size < 8) {
                throw new BadInputException(
                        file + ": not a safetensors file (" + size + " bytes, shorter than the 8-byte header length)");
            }
            MemorySegment whole = channel.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            long headerLength = whole.get(LONG_LE, 0);
            if (headerLength < 2 || headerLength > MAX_HEADER_BYTES) {
                throw new BadInputException(file + ": header length " + Long.toUnsignedString(headerLength)
                        + " is outside 2.." + MAX_HEADER_BYTES + " bytes (not a safetensors file?)");
            }
            if (8 + headerLength > size) {
                throw new BadInputException(file + ": header length " + headerLength
                        + " runs past the end of the file (" + size + " bytes; truncated?)");
            }
            byte[] headerBytes = whole.asSlice(8, headerLength).toArray(ValueLayout.JAVA_BYTE);
            MemorySegment data = whole.asSlice(8 + headerLength);
            Header header = parseHeader(file, headerBytes, data.byteSize());
            return new SafetensorsFile(path, arena, data, headerLength, header.tensors, header.metadata);
        } catch (NoSuchFileException e) {
            arena.close();
            throw new BadInputException(file + ": no such file", e);
        } catch (IOException e) {
            arena.close();
            throw new BadInputException(file + ": cannot read: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    private record Header(Map<String, TensorInfo> tensors, Map<String, String> metadata) {}

    private static Header parseHeader(String file, byte[] headerBytes, long dataSize) {
        String text;
        try {
            text = StandardCharsets.UTF_8
                    .newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(java.nio.ByteBuffer.wrap(headerBytes))
                    .toString();
        } catch (CharacterCodingException e) {
            throw new BadInputException(file + ": header is not valid UTF-8", e);
        }
        JsonNode root;
        try {
            root = STRICT_JSON.readTree(text);
        } catch (JsonProcessingException e) {
            throw new BadInputException(
                    file + ": header is not valid JSON: " + BadInputException.firstLine(e.getOriginalMessage()), e);
        }
        if (root == null || !root.isObject()) {
            throw new BadInputException(file + ": header is not a JSON object");
        }
        Map<String, String> metadata = new LinkedHashMap<>();
        List<TensorInfo> infos = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> entry = it.next();
            String name = entry.getKey();
            JsonNode node = entry.getValue();
            if (name.equals("__metadata__")) {
                readMetadata(file, node, metadata);
            } else {
                infos.add(parseTensor(file, name, node, dataSize));
            }
        }
        checkContiguous(file, infos, dataSize);
        Map<String, TensorInfo> byName = new LinkedHashMap<>();
        for (TensorInfo info : infos) {
            byName.put(info.name(), info);
        }
        return new Header(Collections.unmodifiableMap(byName), Collections.unmodifiableMap(metadata));
    }

    private static void readMetadata(String file, JsonNode node, Map<String, String> metadata) {
        if (!node.isObject()) {
            throw new BadInputException(file + ": __metadata__ must be an object of strings");
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> entry = it.next();
            if (!entry.getValue().isTextual()) {
                throw new BadInputException(
                        file + ": __metadata__ key '" + entry.getKey() + "' has a non-string value");
            }
            metadata.put(entry.getKey(), entry.getValue().asText());
        }
    }

    private static TensorInfo parseTensor(String file, String name, JsonNode node, long dataSize) {
        String where = file + ": tensor '" + name + "'";
        if (!node.isObject()) {
            throw new BadInputException(where + ": header entry is not an object");
        }
        JsonNode dtypeNode = node.get("dtype");
        if (dtypeNode == null || !dtypeNode.isTextual()) {
            throw new BadInputException(where + ": missing or non-string dtype");
        }
        DType dtype = DType.fromSafetensorsName(dtypeNode.asText());
        if (dtype == null) {
            throw new BadInputException(where + ": unknown dtype '" + dtypeNode.asText() + "'");
        }
        JsonNode shapeNode = node.get("shape");
        if (shapeNode == null || !shapeNode.isArray()) {
            throw new BadInputException(where + ": missing shape array");
        }
        long[] shape = new long[shapeNode.size()];
        for (int i = 0; i < shape.length; i++) {
            JsonNode dim = shapeNode.get(i);
            if (!dim.isIntegralNumber() || !dim.canConvertToLong() || dim.asLong() < 0) {
                throw new BadInputException(where + ": shape " + shapeNode + " must hold non-negative integers");
            }
            shape[i] = dim.asLong();
        }
        JsonNode offsets = node.get("data_offsets");
        if (offsets == null || !offsets.isArray() || offsets.size() != 2) {
            throw new BadInputException(where + ": data_offsets must be an array [begin, end]");
        }
        for (JsonNode offset : offsets) {
            if (!offset.isIntegralNumber() || !offset.canConvertToLong() || offset.asLong() < 0) {
                throw new BadInputException(where + ": data_offsets " + offsets + " must be non-negative integers");
            }
        }
        long begin = offsets.get(0).asLong();
        long end = offsets.get(1).asLong();
        if (end < begin) {
            throw new BadInputException(where + ": data_offsets " + offsets + " end before they begin");
        }
        long expectedBytes;
        try {
            expectedBytes = Math.multiplyExact(TensorInfo.elementCount(shape), dtype.byteSize());
        } catch (ArithmeticException e) {
            throw new BadInputException(where + ": shape " + shapeNode + " is too large", e);
        }
        if (end - begin != expectedBytes) {
            throw new BadInputException(where + ": " + dtype + " " + shapeNode + " needs " + expectedBytes
                    + " bytes but data_offsets " + offsets + " hold " + (end - begin));
        }
        if (end > dataSize) {
            throw new BadInputException(where + ": data_offsets " + offsets + " run past the end of the data ("
                    + dataSize + " bytes; truncated file?)");
        }
        return new TensorInfo(name, dtype, shape, begin, end);
    }

    private static void checkContiguous(String file, List<TensorInfo> infos, long dataSize) {
        List<TensorInfo> byOffset = new ArrayList<>(infos);
        byOffset.sort(Comparator.comparingLong(TensorInfo::dataBegin).thenComparingLong(TensorInfo::dataEnd));
        long expectedBegin = 0;
        for (TensorInfo info : byOffset) {
            if (info.dataBegin() < expectedBegin) {
                throw new BadInputException(file + ": tensor '" + info.name()
                        + "' overlaps the tensor before it (bytes " + info.dataBegin() + ".." + expectedBegin + ")");
            }
            if (info.dataBegin() > expectedBegin) {
                throw new BadInputException(file + ": hole of " + (info.dataBegin() - expectedBegin)
                        + " bytes in the data before tensor '" + info.name() + "'");
            }
            expectedBegin = info.dataEnd();
        }
        if (expectedBegin != dataSize) {
            throw new BadInputException(
                    file + ": " + (dataSize - expectedBegin) + " bytes after the last tensor belong to no tensor");
        }
    }

    public Path path() {
        return path;
    }

    /** Bytes of the JSON header, without the 8-byte length prefix. */
    public long headerLength() {
        return headerLength;
    }

    /** Tensors in header order. */
    public Map<String, TensorInfo> tensors() {
        return tensors;
    }

    public Map<String, String> metadata() {
        return metadata;
    }

    @Override
    public SortedSet<String> tensorNames() {
        return sortedNames;
    }

    @Override
    public String describe() {
        return path.toString();
    }

    @Override
    public boolean contains(String name) {
        return tensors.containsKey(name);
    }

    @Override
    public TensorInfo info(String name) {
        TensorInfo info = tensors.get(name);
        if (info == null) {
            throw new BadInputException(path + ": no tensor named '" + name + "'");
        }
        return info;
    }

    /** The raw little-endian bytes of one tensor, valid until this file is closed. */
    @Override
    public MemorySegment bytes(String name) {
        TensorInfo info = info(name);
        MemorySegment bytes = data.asSlice(info.dataBegin(), info.byteSize());
        ReadAhead.willNeed(bytes);
        return bytes;
    }

    /** Reads {@code count} elements starting at element {@code firstElement} of a float tensor into {@code dst}. */
    @Override
    public void readFloats(String name, long firstElement, float[] dst, int dstOffset, int count) {
        TensorInfo info = info(name);
        if (!info.dtype().readableAsFloat()) {
            throw new BadInputException(path + ": tensor '" + name + "' has dtype " + info.dtype()
                    + ", which is not a floating-point type");
        }
        if (firstElement < 0 || count < 0 || firstElement > info.elementCount() - count) {
            throw new IndexOutOfBoundsException("elements " + firstElement + "+" + count + " of " + info);
        }
        if (firstElement == 0) {
            // A read from the start usually goes on through the tensor: let the kernel fetch the rest meanwhile.
            ReadAhead.willNeed(data.asSlice(info.dataBegin(), info.byteSize()));
        }
        MemorySegment bytes = data.asSlice(
                info.dataBegin() + firstElement * info.dtype().byteSize(),
                (long) count * info.dtype().byteSize());
        FloatConversion.decode(info.dtype(), bytes, dst, dstOffset, count);
    }

    @Override
    public void close() {
        arena.close();
    }
}
