package dev.safemerge.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The digest a writer computes while bytes arrive equals a plain SHA-256 of the finished file. */
class SafetensorsWriterHashTest {
    @TempDir
    Path dir;

    @Test
    void digestWhileWritingInOrderMatchesDigestOfFile() throws Exception {
        check(false);
    }

    @Test
    void digestWhileWritingInShuffledOrderFromTwoThreadsMatchesDigestOfFile() throws Exception {
        check(true);
    }

    /** 72 MiB in 1 MiB chunks: large enough for the writer to hash several steps before the last write. */
    private void check(boolean shuffled) throws Exception {
        Path file = dir.resolve("hash-" + shuffled + ".safetensors");
        int chunk = 1 << 19; // floats
        List<TensorSpec> specs = List.of(
                new TensorSpec("a", DType.F32, new long[] {16, chunk}),
                new TensorSpec("b", DType.F32, new long[] {20, chunk}));
        record Piece(String name, int index) {}
        List<Piece> pieces = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            pieces.add(new Piece("a", i));
        }
        for (int i = 0; i < 20; i++) {
            pieces.add(new Piece("b", i));
        }
        if (shuffled) {
            Collections.shuffle(pieces, new Random(7));
        }
        String digest;
        try (SafetensorsWriter writer = SafetensorsWriter.create(file, specs, Map.of());
                ExecutorService pool = Executors.newFixedThreadPool(shuffled ? 2 : 1)) {
            List<Future<?>> futures = new ArrayList<>();
            for (Piece piece : pieces) {
                futures.add(pool.submit(() -> {
                    float[] values = new float[chunk];
                    Random random = new Random(piece.name().hashCode() * 31L + piece.index());
                    for (int j = 0; j < chunk; j++) {
                        values[j] = random.nextFloat();
                    }
                    writer.writeBytes(piece.name(), (long) piece.index() * chunk * 4, MemorySegment.ofArray(values));
                }));
            }
            for (Future<?> future : futures) {
                future.get();
            }
            writer.finish();
            digest = writer.sha256();
            assertThat(writer.sha256()).isEqualTo(digest);
        }
        String expected =
                HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
        assertThat(digest).isEqualTo(expected);
    }
}
