package dev.safemerge.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reads and rewrites a file made by an independent numpy writer (src/test/python/make_fixtures.py). */
class IndependentFixtureTest {
    private static final ObjectMapper JSON = JsonMappers.plain();

    @TempDir
    Path dir;

    @Test
    void everyDtypeReadsAsTheIndependentWriterMeantIt() throws Exception {
        JsonNode expected = JSON.readTree(Fixtures.path("dtypes.expected.json").toFile());
        try (SafetensorsFile file = SafetensorsFile.open(Fixtures.path("dtypes.safetensors"))) {
            assertThat(file.metadata()).containsEntry("format", "pt").containsEntry("source", "numpy");
            for (Iterator<Map.Entry<String, JsonNode>> it =
                            expected.get("shapes").fields();
                    it.hasNext(); ) {
                Map.Entry<String, JsonNode> entry = it.next();
                TensorInfo info = file.info(entry.getKey());
                assertThat(info.dtype().name())
                        .isEqualTo(expected.get("dtypes").get(entry.getKey()).asText());
                long[] shape = new long[entry.getValue().size()];
                for (int i = 0; i < shape.length; i++) {
                    shape[i] = entry.getValue().get(i).asLong();
                }
                assertThat(info.shape()).as(entry.getKey()).containsExactly(shape);
            }
            assertThat(file.tensorNames()).hasSize(expected.get("shapes").size());
            for (Iterator<Map.Entry<String, JsonNode>> it =
                            expected.get("float_bits").fields();
                    it.hasNext(); ) {
                Map.Entry<String, JsonNode> entry = it.next();
                float[] values = file.readFloats(entry.getKey());
                assertThat(values).hasSize(entry.getValue().size());
                for (int i = 0; i < values.length; i++) {
                    assertThat(Integer.toUnsignedLong(Float.floatToRawIntBits(values[i])))
                            .as("%s[%d]", entry.getKey(), i)
                            .isEqualTo(entry.getValue().get(i).asLong());
                }
            }
            for (Iterator<Map.Entry<String, JsonNode>> it =
                            expected.get("raw_hex").fields();
                    it.hasNext(); ) {
                Map.Entry<String, JsonNode> entry = it.next();
                byte[] bytes = file.bytes(entry.getKey()).toArray(ValueLayout.JAVA_BYTE);
                assertThat(HexFormat.of().formatHex(bytes))
                        .as(entry.getKey())
                        .isEqualTo(entry.getValue().asText());
            }
        }
    }

    @Test
    void javaWriterProducesTheSameBytesForTheSameTensors() throws Exception {
        Path original = Fixtures.path("dtypes.safetensors");
        Path copy = dir.resolve("copy.safetensors");
        try (SafetensorsFile file = SafetensorsFile.open(original)) {
            List<TensorSpec> specs = new ArrayList<>();
            for (String name : file.tensorNames()) {
                TensorInfo info = file.info(name);
                specs.add(new TensorSpec(name, info.dtype(), info.shape()));
            }
            try (SafetensorsWriter writer = SafetensorsWriter.create(copy, specs, file.metadata())) {
                for (String name : file.tensorNames()) {
                    writer.writeBytes(name, 0, file.bytes(name));
                }
                writer.finish();
            }
        }
        assertThat(Files.readAllBytes(copy)).isEqualTo(Files.readAllBytes(original));
    }

    @Test
    void javaEncodingOfFloat32MatchesTheIndependentF16AndBf16Encoding() {
        try (SafetensorsFile file = SafetensorsFile.open(Fixtures.path("dtypes.safetensors"));
                Arena arena = Arena.ofConfined()) {
            float[] source = file.readFloats("float.f32");
            for (DType dtype : new DType[] {DType.F16, DType.BF16}) {
                MemorySegment encoded = arena.allocate(source.length * 2L);
                FloatConversion.encode(dtype, source, 0, encoded, source.length);
                assertThat(encoded.toArray(ValueLayout.JAVA_BYTE))
                        .as(dtype.name())
                        .isEqualTo(file.bytes("float." + dtype.name().toLowerCase(java.util.Locale.ROOT))
                                .toArray(ValueLayout.JAVA_BYTE));
            }
        }
    }
}
