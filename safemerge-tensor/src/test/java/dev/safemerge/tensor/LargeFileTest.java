package dev.safemerge.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Files and single tensors above 2 GiB, made cheaply as sparse files: only the written ends take disk space. */
class LargeFileTest {
    private static final long BIG_ELEMENTS = 2_300_000_000L; // > 2^31 elements, 4.6 GB of BF16

    @TempDir
    Path dir;

    @Test
    void tensorsBeyondTwoGibibytesAndTwoBillionElementsAreReadByRange() throws Exception {
        Path file = dir.resolve("big.safetensors");
        float[] tail = new float[1000];
        for (int i = 0; i < tail.length; i++) {
            tail[i] = i - 500.5f;
        }
        try (SafetensorsWriter writer = SafetensorsWriter.create(
                file,
                List.of(
                        new TensorSpec("big", DType.BF16, new long[] {BIG_ELEMENTS}),
                        new TensorSpec("tail", DType.BF16, new long[] {4})),
                Map.of())) {
            writer.writeFloats("big", BIG_ELEMENTS - tail.length, tail, 0, tail.length);
            writer.writeFloats("big", 0, new float[] {42}, 0, 1);
            writer.writeFloats("tail", new float[] {1, 2, 3, 4});
            assertThatThrownBy(writer::finish).hasMessageContaining("'big'");
        }
        assertThat(Files.size(file)).isGreaterThan(BIG_ELEMENTS * 2);
        try (SafetensorsFile read = SafetensorsFile.open(file)) {
            TensorInfo big = read.info("big");
            assertThat(big.elementCount()).isEqualTo(BIG_ELEMENTS);
            assertThat(read.bytes("big").byteSize()).isEqualTo(BIG_ELEMENTS * 2);
            float[] back = new float[tail.length + 2];
            read.readFloats("big", BIG_ELEMENTS - tail.length - 2, back, 0, back.length);
            assertThat(back[0]).isZero(); // the hole reads as zeros
            assertThat(back[1]).isZero();
            for (int i = 0; i < tail.length; i++) {
                assertThat(back[i + 2]).isEqualTo(FloatCodec.roundTo(DType.BF16, tail[i]));
            }
            float[] first = new float[1];
            read.readFloats("big", 0, first, 0, 1);
            assertThat(first[0]).isEqualTo(42f);
            // "tail" lies beyond 4.6 GB in the file.
            assertThat(read.info("tail").dataBegin()).isGreaterThan(BIG_ELEMENTS * 2 - 1);
            assertThat(read.readFloats("tail")).containsExactly(1, 2, 3, 4);
            assertThatThrownBy(() -> read.readFloats("big"))
                    .isInstanceOf(BadInputException.class)
                    .hasMessageContaining("read it in ranges");
            assertThatThrownBy(() -> read.readFloats("big", BIG_ELEMENTS - 1, back, 0, 2))
                    .isInstanceOf(IndexOutOfBoundsException.class);
        }
    }
}
