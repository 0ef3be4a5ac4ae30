package dev.safemerge.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
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

/**
 * The digest a writer computes, at the end or on its background thread while bytes arrive, equals a plain SHA-256 of
 * the finished file; heap and off-heap sources write the same bytes.
 */
class SafetensorsWriterHashTest {
    @TempDir
    Path dir;

    @Test
    void digestAtTheEndMatchesDigestOfFile() throws Exception {
        check(false, false);
    }

    @Test
    void digestWhileWritingInOrderMatchesDigestOfFile() throws Exception {
        check(false, true);
    }

    @Test
    void digestWhileWritingInShuffledOrderFromTwoThreadsMatchesDigestOfFile() throws Exception {
        check(true, true);
    }

    @Test
    void closingAnUnfinishedFileStopsTheBackgroundThreads() {
        Path file = dir.resolve("unfinished.safetensors");
        List<TensorSpec> specs = List.of(new TensorSpec("a", DType.F32, new long[] {1 << 20}));
        SafetensorsWriter writer = SafetensorsWriter.create(file, specs, Map.of());
        writer.digestAndFlushWhileWriting();
        writer.writeFloats("a", 0, new float[1 << 19], 0, 1 << 19);
        writer.close();
        assertThat(Thread.getAllStackTraces().keySet())
                .noneMatch(thread -> thread.getName().endsWith(" unfinished.safetensors"));
    }

    /** 72 MiB in 1 MiB chunks: large enough for the writer to hash several steps before the last write. */
    private void check(boolean shuffled, boolean background) throws Exception {
        Path file = dir.resolve("hash-" + shuffled + "-" + background + ".safetensors");
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
                ExecutorService pool = Executors.newFixedThreadPool(shuffled ? 2 : 1);
                Arena arena = Arena.ofShared()) {
            if (background) {
                writer.digestAndFlushWhileWriting();
            }
            List<Future<?>> futures = new ArrayList<>();
            for (Piece piece : pieces) {
                futures.add(pool.submit(() -> {
                    float[] values = new float[chunk];
                    Random random = new Random(piece.name().hashCode() * 31L + piece.index());
                    for (int j = 0; j < chunk; j++) {
                        values[j] = random.nextFloat();
                    }
                    MemorySegment bytes = MemorySegment.ofArray(values);
                    if (piece.index() % 2 == 1) {
                        bytes = arena.allocate(bytes.byteSize()).copyFrom(bytes);
                    }
                    writer.writeBytes(piece.name(), (long) piece.index() * chunk * 4, bytes);
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
