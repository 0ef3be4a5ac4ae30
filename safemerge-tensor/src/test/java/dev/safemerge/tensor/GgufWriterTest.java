package dev.safemerge.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.safemerge.tensor.GgufWriter.Tensor;
import dev.safemerge.tensor.GgufWriter.TensorType;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Reads written files back with a reader written here from gguf.h's description of the format (not the writer's
 * code), and checks Q8_0 and BF16 bytes against values computed by hand.
 */
class GgufWriterTest {
    @TempDir
    Path dir;

    /** What the reader below finds in a file. */
    record Info(String name, long[] ne, int ggmlType, long offset) {}

    record Parsed(int version, Map<String, Object> metadata, List<Info> tensors, long dataStart, ByteBuffer file) {}

    static Parsed parse(Path path) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(path)).order(ByteOrder.LITTLE_ENDIAN);
        byte[] magic = new byte[4];
        b.get(magic);
        assertThat(new String(magic, StandardCharsets.US_ASCII)).isEqualTo("GGUF");
        int version = b.getInt();
        long tensorCount = b.getLong();
        long kvCount = b.getLong();
        Map<String, Object> metadata = new LinkedHashMap<>();
        for (long i = 0; i < kvCount; i++) {
            String key = string(b);
            int type = b.getInt();
            metadata.put(
                    key,
                    switch (type) {
                        case 4 -> b.getInt();
                        case 6 -> b.getFloat();
                        case 7 -> b.get() != 0;
                        case 8 -> string(b);
                        case 9 -> array(b);
                        default -> throw new AssertionError("unexpected gguf_type " + type);
                    });
        }
        List<Info> tensors = new ArrayList<>();
        for (long i = 0; i < tensorCount; i++) {
            String name = string(b);
            long[] ne = new long[b.getInt()];
            for (int d = 0; d < ne.length; d++) {
                ne[d] = b.getLong();
            }
            tensors.add(new Info(name, ne, b.getInt(), b.getLong()));
        }
        long dataStart = (b.position() + 31) / 32 * 32;
        return new Parsed(version, metadata, tensors, dataStart, b);
    }

    /** An array as a list of its elements: int32, float32 or string. */
    private static List<Object> array(ByteBuffer b) {
        int type = b.getInt();
        long count = b.getLong();
        List<Object> items = new ArrayList<>();
        for (long i = 0; i < count; i++) {
            items.add(
                    switch (type) {
                        case 5 -> b.getInt();
                        case 6 -> b.getFloat();
                        case 8 -> string(b);
                        default -> throw new AssertionError("unexpected array type " + type);
                    });
        }
        return items;
    }

    private static String string(ByteBuffer b) {
        byte[] bytes = new byte[Math.toIntExact(b.getLong())];
        b.get(bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    @Test
    void headerMetadataTensorInfosAndAlignmentFollowTheFormat() throws IOException {
        Path file = dir.resolve("m.gguf");
        Map<String, Object> metadata = new LinkedHashMap<>();
        metadata.put("general.architecture", "llama");
        metadata.put("llama.block_count", 30);
        metadata.put("llama.rope.freq_base", 500000f);
        metadata.put("flag", true);
        metadata.put("tokenizer.ggml.tokens", new String[] {"<unk>", "▁a"});
        metadata.put("tokenizer.ggml.scores", new float[] {0f, -1.5f});
        metadata.put("tokenizer.ggml.token_type", new int[] {2, 1});
        List<Tensor> tensors = List.of(
                new Tensor("norm", TensorType.F32, new long[] {3}),
                new Tensor("w", TensorType.BF16, new long[] {2, 5}),
                new Tensor("q", TensorType.Q8_0, new long[] {3, 64}));
        // element (row r, column c) of every tensor is r + c / 100
        GgufWriter.write(file, metadata, tensors, (t, row, values) -> {
            for (int c = 0; c < values.length; c++) {
                values[c] = row + c / 100f;
            }
        });

        Parsed parsed = parse(file);
        assertThat(parsed.version()).isEqualTo(3);
        assertThat(parsed.metadata())
                .containsExactly(
                        Map.entry("general.architecture", "llama"),
                        Map.entry("llama.block_count", 30),
                        Map.entry("llama.rope.freq_base", 500000f),
                        Map.entry("flag", true),
                        Map.entry("tokenizer.ggml.tokens", List.of("<unk>", "▁a")),
                        Map.entry("tokenizer.ggml.scores", List.of(0f, -1.5f)),
                        Map.entry("tokenizer.ggml.token_type", List.of(2, 1)));
        assertThat(parsed.tensors()).extracting(Info::name).containsExactly("norm", "w", "q");
        assertThat(parsed.tensors()).extracting(Info::ggmlType).containsExactly(0, 30, 8);
        // ggml's ne is innermost first: a (2, 5) tensor is ne = [5, 2]
        assertThat(parsed.tensors().get(1).ne()).containsExactly(5, 2);
        assertThat(parsed.tensors().get(2).ne()).containsExactly(64, 3);
        // sizes 12, 20 and 3 rows × 2 blocks × 34 bytes; each start rounded up to 32
        assertThat(parsed.tensors()).extracting(Info::offset).containsExactly(0L, 32L, 64L);
        assertThat(parsed.dataStart() % 32).isZero();
        assertThat(Files.size(file)).isEqualTo(parsed.dataStart() + 64 + 3 * 2 * 34 + (32 - 3 * 2 * 34 % 32));

        ByteBuffer b = parsed.file();
        long norm = parsed.dataStart();
        assertThat(b.getFloat((int) norm + 4)).isEqualTo(0.01f);
        // bf16 of 1.02f (0x3F828F5C) rounds to nearest even: 0x3F83
        int w = (int) (parsed.dataStart() + 32);
        assertThat(b.getShort(w + 2 * (5 + 2))).isEqualTo((short) 0x3F83);
    }

    @Test
    void q8BlocksMatchHandComputedBytes() throws IOException {
        Path file = dir.resolve("q.gguf");
        float[] row = new float[64];
        // block 0: max |x| = 127 so d = 1 exactly; halves round away from zero as C's roundf
        row[0] = 127f;
        row[1] = 2.5f;
        row[2] = -2.5f;
        row[3] = -0.5f;
        row[4] = 0.49999997f; // just below a half: stays 0 (a float sum |x| + 0.5f would round it up to 1)
        row[5] = -127f;
        // block 1: max |x| = 0.5 so d = 0.5 / 127; 0.25 / d = 63.5 rounds to 64; the scale's float16 is 0x1C08
        row[32] = 0.5f;
        row[33] = 0.25f;
        row[34] = -0.125f; // 31.75 → -32
        GgufWriter.write(
                file,
                Map.of(),
                List.of(new Tensor("q", TensorType.Q8_0, new long[] {1, 64})),
                (t, r, values) -> System.arraycopy(row, 0, values, 0, 64));
        Parsed parsed = parse(file);
        ByteBuffer b = parsed.file();
        int block0 = (int) parsed.dataStart();
        assertThat(b.getShort(block0)).isEqualTo((short) 0x3C00); // 1.0 in float16
        byte[] q0 = new byte[32];
        b.get(block0 + 2, q0);
        assertThat(q0).startsWith(new byte[] {127, 3, -3, -1, 0, -127, 0});
        int block1 = block0 + 34;
        assertThat(b.getShort(block1)).isEqualTo((short) 0x1C08);
        assertThat(FloatCodec.f16ToFloat(b.getShort(block1)))
                .isCloseTo(0.5f / 127, org.assertj.core.data.Offset.offset(2e-6f));
        byte[] q1 = new byte[32];
        b.get(block1 + 2, q1);
        assertThat(q1).startsWith(new byte[] {127, 64, -32, 0});
    }

    @Test
    void rowsThatAreNotWholeBlocksAndDuplicateNamesAreRefusedBeforeWriting() {
        Path file = dir.resolve("bad.gguf");
        assertThatThrownBy(() -> GgufWriter.write(
                        file,
                        Map.of(),
                        List.of(new Tensor("blk.0.attn_q.weight", TensorType.Q8_0, new long[] {4, 40})),
                        (t, r, v) -> {}))
                .hasMessageContaining("blk.0.attn_q.weight")
                .hasMessageContaining("multiple of Q8_0's block of 32");
        assertThatThrownBy(() -> GgufWriter.write(
                        file,
                        Map.of(),
                        List.of(
                                new Tensor("a", TensorType.F32, new long[] {1}),
                                new Tensor("a", TensorType.F32, new long[] {1})),
                        (t, r, v) -> {}))
                .hasMessageContaining("tensor a given twice");
        assertThat(file).doesNotExist();
    }
}
