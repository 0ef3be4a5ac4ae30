package dev.safemerge.tensor;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Writes a GGUF version 3 file, the checkpoint format of llama.cpp (ggml's gguf.h): magic "GGUF", version, tensor
 * and key counts, the key-value metadata, the tensor descriptions, then the tensor data, each tensor starting at a
 * multiple of the default alignment of 32 bytes. All numbers are little-endian. Tensors are given row by row as
 * float32 and encoded here into their stored type; the file is written beside its final name and moved there when
 * complete, so an interrupted write leaves no partial file under that name.
 */
public final class GgufWriter {
    /** gguf.h's GGUF_DEFAULT_ALIGNMENT: the writer does not set {@code general.alignment}. */
    public static final int ALIGNMENT = 32;

    static final int VERSION = 3;
    static final int MAGIC = 0x46554747; // "GGUF" read as a little-endian uint32

    // gguf_type values of the metadata types written
    static final int TYPE_UINT32 = 4;
    static final int TYPE_INT32 = 5;
    static final int TYPE_FLOAT32 = 6;
    static final int TYPE_BOOL = 7;
    static final int TYPE_STRING = 8;
    static final int TYPE_ARRAY = 9;

    /**
     * A stored tensor type (ggml_type) with its block layout: {@code blockBytes} bytes hold {@code blockElements}
     * consecutive elements of a row.
     */
    public enum TensorType {
        F32(0, 1, 4),
        /** ggml_fp16_t scale {@code d} then 32 int8 {@code q}; element j is {@code d · q[j]}. */
        Q8_0(8, 32, 34),
        BF16(30, 1, 2);

        public final int ggmlType;
        public final int blockElements;
        public final int blockBytes;

        TensorType(int ggmlType, int blockElements, int blockBytes) {
            this.ggmlType = ggmlType;
            this.blockElements = blockElements;
            this.blockBytes = blockBytes;
        }

        long rowBytes(long columns) {
            return columns / blockElements * blockBytes;
        }
    }

    /**
     * A tensor to write.
     *
     * @param shape outermost dimension first, as safetensors and PyTorch give it (rows, columns); the file stores
     *     ggml's order, innermost first
     */
    public record Tensor(String name, TensorType type, long[] shape) {
        public Tensor {
            shape = shape.clone();
        }

        @Override
        public long[] shape() {
            return shape.clone();
        }

        long columns() {
            return shape[shape.length - 1];
        }

        long rows() {
            return TensorInfo.elementCount(shape) / columns();
        }

        long byteSize() {
            return rows() * type.rowBytes(columns());
        }
    }

    /** Supplies the float32 values of one row of a tensor. */
    @FunctionalInterface
    public interface Rows {
        void read(Tensor tensor, long row, float[] values);
    }

    private GgufWriter() {}

    /**
     * Writes {@code tensors} in the given order with {@code metadata} in its iteration order. Metadata values may be
     * String, Integer (stored as uint32, the type llama.cpp requires of counts and lengths), Float (float32),
     * Boolean, or arrays: String[], float[] (float32), int[] (int32).
     */
    public static void write(Path file, Map<String, Object> metadata, List<Tensor> tensors, Rows rows) {
        check(file, tensors);
        AtomicFile.replace(file, temp -> {
            try (FileChannel channel = FileChannel.open(
                    temp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
                writeTo(file, new Output(channel, temp), metadata, tensors, rows);
            }
        });
    }

    private static void writeTo(Path file, Output out, Map<String, Object> metadata, List<Tensor> tensors, Rows rows)
            throws IOException {
        out.u32(MAGIC).u32(VERSION).u64(tensors.size()).u64(metadata.size());
        for (Map.Entry<String, Object> entry : metadata.entrySet()) {
            out.string(entry.getKey());
            switch (entry.getValue()) {
                case String s -> out.u32(TYPE_STRING).string(s);
                case Integer i when i >= 0 -> out.u32(TYPE_UINT32).u32(i);
                case Float f -> out.u32(TYPE_FLOAT32).f32(f);
                case Boolean b -> out.u32(TYPE_BOOL).u8(b ? 1 : 0);
                case String[] strings -> {
                    out.u32(TYPE_ARRAY).u32(TYPE_STRING).u64(strings.length);
                    for (String s : strings) {
                        out.string(s);
                    }
                }
                case float[] floats -> {
                    out.u32(TYPE_ARRAY).u32(TYPE_FLOAT32).u64(floats.length);
                    for (float f : floats) {
                        out.f32(f);
                    }
                }
                case int[] ints -> {
                    out.u32(TYPE_ARRAY).u32(TYPE_INT32).u64(ints.length);
                    for (int i : ints) {
                        out.u32(i);
                    }
                }
                default ->
                    throw new IllegalArgumentException(
                            file + ": metadata " + entry.getKey() + " has an unsupported value " + entry.getValue());
            }
        }
        long offset = 0;
        for (Tensor tensor : tensors) {
            long[] shape = tensor.shape();
            out.string(tensor.name()).u32(shape.length);
            for (int d = shape.length - 1; d >= 0; d--) {
                out.u64(shape[d]);
            }
            out.u32(tensor.type().ggmlType).u64(offset);
            offset = align(offset + tensor.byteSize());
        }
        out.padTo(align(out.position()));
        try (Arena arena = Arena.ofConfined()) {
            for (Tensor tensor : tensors) {
                int columns = (int) tensor.columns();
                float[] values = new float[columns];
                MemorySegment encoded = arena.allocate(tensor.type().rowBytes(columns));
                for (long row = 0; row < tensor.rows(); row++) {
                    rows.read(tensor, row, values);
                    encode(tensor.type(), values, encoded);
                    out.bytes(encoded.asByteBuffer());
                }
                out.padTo(align(out.position()));
            }
        }
        out.flush();
    }

    private static void check(Path file, List<Tensor> tensors) {
        Set<String> names = new HashSet<>();
        for (Tensor tensor : tensors) {
            if (!names.add(tensor.name())) {
                throw new IllegalArgumentException(file + ": tensor " + tensor.name() + " given twice");
            }
            if (tensor.shape.length == 0 || tensor.shape.length > 4) {
                throw new IllegalArgumentException(file + ": tensor " + tensor.name() + " has rank "
                        + tensor.shape.length + "; GGUF holds ranks 1 to 4");
            }
            if (tensor.columns() % tensor.type().blockElements != 0) {
                throw new IllegalArgumentException(file + ": tensor " + tensor.name() + " has rows of "
                        + tensor.columns() + " elements, not a multiple of " + tensor.type() + "'s block of "
                        + tensor.type().blockElements);
            }
            if (tensor.columns() > Integer.MAX_VALUE) {
                throw new IllegalArgumentException(file + ": tensor " + tensor.name() + " has rows too long");
            }
        }
    }

    /** Encodes one row of floats into {@code type}'s bytes. */
    static void encode(TensorType type, float[] values, MemorySegment dst) {
        switch (type) {
            case F32 -> FloatConversion.encode(DType.F32, values, 0, dst, values.length);
            case BF16 -> FloatConversion.encode(DType.BF16, values, 0, dst, values.length);
            case Q8_0 -> {
                for (int block = 0; block < values.length / 32; block++) {
                    quantizeQ8Block(values, block * 32, dst.asSlice(block * 34L, 34));
                }
            }
        }
    }

    /**
     * ggml's reference Q8_0 quantization of 32 values: scale {@code d = max|x| / 127} (stored as float16, rounded to
     * nearest even), each {@code q = x / d} rounded half away from zero as C's {@code roundf}, computed with the
     * unrounded float32 {@code d}. The stored scale differs from safemerge's own q8, which keeps a float32 scale.
     */
    static void quantizeQ8Block(float[] x, int from, MemorySegment block) {
        float amax = 0;
        for (int j = 0; j < 32; j++) {
            amax = Math.max(amax, Math.abs(x[from + j]));
        }
        float d = amax / 127;
        float inverse = d != 0 ? 1 / d : 0;
        block.set(SafetensorsFile.SHORT_LE, 0, FloatCodec.floatToF16(d));
        for (int j = 0; j < 32; j++) {
            float scaled = x[from + j] * inverse;
            // in double, |x| + 0.5 is exact, so values just below a half do not round up
            block.set(ValueLayout.JAVA_BYTE, 2 + j, (byte) Math.copySign(Math.floor(Math.abs(scaled) + 0.5), scaled));
        }
    }

    static long align(long offset) {
        return (offset + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
    }

    /** A buffered little-endian sequential writer that knows its position in the file. */
    private static final class Output {
        private final FileChannel channel;
        private final Path file;
        private final ByteBuffer buffer = ByteBuffer.allocateDirect(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
        private long flushed;

        Output(FileChannel channel, Path file) {
            this.channel = channel;
            this.file = file;
        }

        long position() {
            return flushed + buffer.position();
        }

        private Output room(int bytes) throws IOException {
            if (buffer.remaining() < bytes) {
                flush();
            }
            return this;
        }

        Output u8(int value) throws IOException {
            room(1).buffer.put((byte) value);
            return this;
        }

        Output u32(int value) throws IOException {
            room(4).buffer.putInt(value);
            return this;
        }

        Output u64(long value) throws IOException {
            room(8).buffer.putLong(value);
            return this;
        }

        Output f32(float value) throws IOException {
            room(4).buffer.putFloat(value);
            return this;
        }

        Output string(String value) throws IOException {
            byte[] utf8 = value.getBytes(StandardCharsets.UTF_8);
            u64(utf8.length);
            return bytes(ByteBuffer.wrap(utf8));
        }

        Output bytes(ByteBuffer bytes) throws IOException {
            while (bytes.hasRemaining()) {
                if (!buffer.hasRemaining()) {
                    flush();
                }
                int n = Math.min(bytes.remaining(), buffer.remaining());
                buffer.put(buffer.position(), bytes, bytes.position(), n);
                buffer.position(buffer.position() + n);
                bytes.position(bytes.position() + n);
            }
            return this;
        }

        void padTo(long position) throws IOException {
            while (position() < position) {
                u8(0);
            }
        }

        void flush() throws IOException {
            buffer.flip();
            flushed += buffer.remaining();
            DiskWrites.write(channel, file, buffer);
            buffer.clear();
        }
    }
}
