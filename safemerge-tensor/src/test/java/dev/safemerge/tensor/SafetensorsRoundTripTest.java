package dev.safemerge.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsRoundTripTest {
    @TempDir
    Path dir;

    @Test
    void floatTensorsRoundTripInEveryFloatDtype() {
        Random random = new Random(42);
        float[] values = new float[257];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) random.nextGaussian() * 3;
        }
        values[0] = Float.NaN;
        values[1] = Float.POSITIVE_INFINITY;
        values[2] = Float.NEGATIVE_INFINITY;
        Path file = dir.resolve("t.safetensors");
        List<DType> dtypes = List.of(DType.F32, DType.F16, DType.BF16, DType.F64);
        try (SafetensorsWriter writer = SafetensorsWriter.create(
                file,
                dtypes.stream()
                        .map(d -> new TensorSpec("w." + d, d, new long[] {values.length}))
                        .toList(),
                Map.of("format", "pt"))) {
            for (DType dtype : dtypes) {
                writer.writeFloats("w." + dtype, values);
            }
            writer.finish();
        }
        try (SafetensorsFile read = SafetensorsFile.open(file)) {
            assertThat(read.metadata()).containsEntry("format", "pt");
            for (DType dtype : dtypes) {
                float[] back = read.readFloats("w." + dtype);
                for (int i = 0; i < values.length; i++) {
                    float expected = FloatCodec.roundTo(dtype, values[i]);
                    assertThat(Float.floatToIntBits(back[i]))
                            .as("%s element %d", dtype, i)
                            .isEqualTo(Float.floatToIntBits(expected));
                }
            }
        }
    }

    @Test
    void headerLayoutMatchesTheReferenceWriter() throws Exception {
        Path file = dir.resolve("layout.safetensors");
        try (SafetensorsWriter writer = SafetensorsWriter.create(
                file,
                List.of(new TensorSpec("b", DType.BF16, new long[] {2}), new TensorSpec("a", DType.F32, new long[] {1
                })),
                Map.of())) {
            writer.writeFloats("b", new float[] {1, 2});
            writer.writeFloats("a", new float[] {3});
            writer.finish();
        }
        byte[] bytes = Files.readAllBytes(file);
        String header = new String(bytes, 8, (int) (bytes.length - 8 - 8), java.nio.charset.StandardCharsets.UTF_8);
        assertThat(header.strip())
                .isEqualTo("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                        + "\"b\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[4,8]}}");
        assertThat((bytes.length - 8 - 8) % 8).isZero();
    }

    @Test
    void bf16RoundsToNearestEven() {
        // 1 + 2^-8 lies exactly between two bf16 values; the even one (1.0) wins.
        assertThat(FloatCodec.floatToBf16(1f + 0x1p-8f)).isEqualTo((short) 0x3f80);
        // 1 + 3*2^-8 lies between 1+2^-7 (odd) and 1+2^-6 (even).
        assertThat(FloatCodec.floatToBf16(1f + 3 * 0x1p-8f)).isEqualTo((short) 0x3f82);
        assertThat(Float.isNaN(FloatCodec.bf16ToFloat(FloatCodec.floatToBf16(Float.intBitsToFloat(0x7f800001)))))
                .isTrue();
    }

    @Test
    void truncatedFileIsRejectedNamingTheFile() throws Exception {
        Path file = dir.resolve("short.safetensors");
        Files.write(file, new byte[] {1, 2, 3});
        assertThatThrownBy(() -> SafetensorsFile.open(file))
                .isInstanceOf(BadInputException.class)
                .hasMessageContaining("short.safetensors");
    }
}
