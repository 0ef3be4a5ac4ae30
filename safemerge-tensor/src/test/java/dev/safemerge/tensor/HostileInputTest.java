package dev.safemerge.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Checkpoints are untrusted: whatever the bytes, opening and reading a file either works or throws a
 * {@link BadInputException} whose single-line message names the file. Nothing else may escape.
 */
class HostileInputTest {
    @TempDir
    Path dir;

    private byte[] validFile() throws Exception {
        Path file = dir.resolve("valid.safetensors");
        List<TensorSpec> specs = List.of(
                new TensorSpec("a.weight", DType.BF16, new long[] {3, 4}),
                new TensorSpec("b", DType.F32, new long[] {2}),
                new TensorSpec("c", DType.I8, new long[] {5}),
                new TensorSpec("d", DType.F16, new long[] {}));
        try (SafetensorsWriter writer = SafetensorsWriter.create(file, specs, Map.of("format", "pt"))) {
            writer.writeFloats("a.weight", new float[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
            writer.writeFloats("b", new float[] {-1, 0.5f});
            writer.writeBytes("c", 0, java.lang.foreign.MemorySegment.ofArray(new byte[] {1, 2, 3, 4, 5}));
            writer.writeFloats("d", new float[] {3});
            writer.finish();
        }
        return Files.readAllBytes(file);
    }

    /** Opens {@code bytes} as a file and reads everything; returns normally or with a well-formed BadInputException. */
    private boolean openAndReadAll(byte[] bytes, String name) throws Exception {
        Path file = dir.resolve(name);
        Files.write(file, bytes);
        try (SafetensorsFile opened = SafetensorsFile.open(file)) {
            for (String tensor : opened.tensorNames()) {
                TensorInfo info = opened.info(tensor);
                assertThat(opened.bytes(tensor).byteSize()).isEqualTo(info.byteSize());
                if (info.dtype().readableAsFloat()) {
                    assertThat(opened.readFloats(tensor)).hasSize((int) info.elementCount());
                }
            }
            return true;
        } catch (BadInputException e) {
            assertThat(e.getMessage()).as("message of %s", name).contains(file.toString());
            assertThat(e.getMessage()).doesNotContain("\n").doesNotContain("\r");
            return false;
        } catch (RuntimeException e) {
            fail("opening " + name + " threw " + e + " instead of BadInputException", e);
            return false;
        }
    }

    @Test
    void everyTruncationIsRejectedCleanly() throws Exception {
        byte[] valid = validFile();
        assertThat(openAndReadAll(valid, "whole.safetensors")).isTrue();
        for (int length = 0; length < valid.length; length++) {
            byte[] truncated = java.util.Arrays.copyOf(valid, length);
            assertThat(openAndReadAll(truncated, "truncated.safetensors"))
                    .as("truncated to %d bytes", length)
                    .isFalse();
        }
        byte[] extended = java.util.Arrays.copyOf(valid, valid.length + 1);
        assertThat(openAndReadAll(extended, "extended.safetensors")).isFalse();
    }

    @Test
    void randomBitFlipsNeverEscapeAsOtherExceptions() throws Exception {
        byte[] valid = validFile();
        Random random = new Random(1234);
        int rejected = 0;
        for (int round = 0; round < 3000; round++) {
            byte[] corrupt = valid.clone();
            int flips = 1 + random.nextInt(3);
            for (int i = 0; i < flips; i++) {
                // Mostly the header, where the parser lives; sometimes anywhere.
                int limit = random.nextInt(4) == 0 ? corrupt.length : Math.min(corrupt.length, 200);
                int at = random.nextInt(limit);
                corrupt[at] ^= (byte) (1 << random.nextInt(8));
            }
            if (!openAndReadAll(corrupt, "flipped.safetensors")) {
                rejected++;
            }
        }
        assertThat(rejected).isGreaterThan(1000);
    }

    private static byte[] withHeader(String header, int dataBytes) {
        byte[] json = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer buffer = ByteBuffer.allocate(8 + json.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        buffer.putLong(json.length).put(json);
        return buffer.array();
    }

    @Test
    void hostileHeadersAreRejectedNamingTheFile() throws Exception {
        String ok = "\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]";
        List<String> headers = new ArrayList<>(List.of(
                "",
                "null",
                "[]",
                "\"text\"",
                "123",
                "{",
                "{\"a\":{" + ok + "}} trailing",
                "{\"a\":{" + ok + "},\"a\":{" + ok + "}}",
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[1e400],\"data_offsets\":[0,4]}}",
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[99999999999999999999999999],\"data_offsets\":[0,4]}}",
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}",
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}",
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[\"1\"],\"data_offsets\":[0,4]}}",
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,4]}}",
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904],\"data_offsets\":[0,4]}}",
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[9223372036854775807,0],\"data_offsets\":[0,0]}}",
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,9223372036854775807]}}",
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[9223372036854775804,9223372036854775808]}}",
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}",
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}",
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}",
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0.0,4.0]}}",
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}",
                "{\"a\":{\"dtype\":\"F31\",\"shape\":[1],\"data_offsets\":[0,4]}}",
                "{\"a\":{\"dtype\":7,\"shape\":[1],\"data_offsets\":[0,4]}}",
                "{\"a\":{\"dtype\":\"F4\",\"shape\":[8],\"data_offsets\":[0,4]}}",
                "{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}",
                "{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}",
                "{\"a\":{\"dtype\":\"F32\",\"shape\":{\"x\":1},\"data_offsets\":[0,4]}}",
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}",
                "{\"a\":[1,2,3]}",
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[[1]],\"data_offsets\":[0,4]}}",
                "{\"__metadata__\":{\"k\":1},\"a\":{" + ok + "}}",
                "{\"__metadata__\":[\"k\"],\"a\":{" + ok + "}}",
                "{\"a\":{" + ok + "},\"b\":{" + ok + "}}",
                "{\"a\":{" + ok + "},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
                "{\"a\\n\\nline\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}",
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":{\"y\":{\"z\":[[[[{}]]]]}}},"
                        + "\"junk\":{\"dtype\":{\"nested\":[]},\"shape\":[],\"data_offsets\":[4,4]}}"));
        headers.add("{\"a\":" + "[".repeat(5000) + "]".repeat(5000) + "}");
        headers.add("{\"" + "k".repeat(10) + "\":" + "1".repeat(2000) + "}");
        for (int i = 0; i < headers.size(); i++) {
            assertThat(openAndReadAll(withHeader(headers.get(i), 4), "hostile-" + i + ".safetensors"))
                    .as(
                            "header %d: %s",
                            i, headers.get(i).length() > 200 ? headers.get(i).substring(0, 200) : headers.get(i))
                    .isFalse();
        }
        // The same tensor entry is accepted when nothing is wrong, so the rejections above are about the faults.
        assertThat(openAndReadAll(withHeader("{\"a\":{" + ok + "}}", 4), "fine.safetensors"))
                .isTrue();
    }

    @Test
    void badHeaderLengthsAndEncodingsAreRejected() throws Exception {
        for (long length : new long[] {0, 1, -1, Long.MIN_VALUE, 100_000_001L, 1L << 40}) {
            ByteBuffer buffer = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN);
            buffer.putLong(length).put("{}".getBytes(StandardCharsets.US_ASCII));
            assertThat(openAndReadAll(buffer.array(), "length.safetensors"))
                    .as("length %d", length)
                    .isFalse();
        }
        ByteArrayOutputStream notUtf8 = new ByteArrayOutputStream();
        byte[] header = {'{', '"', (byte) 0xC3, (byte) 0x28, '"', ':', '1', '}'};
        notUtf8.write(ByteBuffer.allocate(8)
                .order(ByteOrder.LITTLE_ENDIAN)
                .putLong(header.length)
                .array());
        notUtf8.write(header);
        assertThat(openAndReadAll(notUtf8.toByteArray(), "utf8.safetensors")).isFalse();
        Path missing = dir.resolve("missing.safetensors");
        assertThatThrownBy(() -> SafetensorsFile.open(missing))
                .isInstanceOf(BadInputException.class)
                .hasMessageContaining("missing.safetensors");
        assertThatThrownBy(() -> SafetensorsFile.open(dir))
                .isInstanceOf(BadInputException.class)
                .hasMessageContaining(dir.toString());
    }

    @Test
    void messagesStayOnOneLineWhateverTheNames() {
        assertThat(new BadInputException("x: tensor 'a\nb\r\u2028c'").getMessage())
                .isEqualTo("x: tensor 'a\\u000ab\\u000d\\u2028c'");
    }
}
