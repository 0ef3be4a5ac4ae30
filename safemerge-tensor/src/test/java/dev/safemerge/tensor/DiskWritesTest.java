package dev.safemerge.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DiskWritesTest {
    @TempDir
    Path dir;

    @AfterEach
    void realDiskAgain() {
        DiskWrites.simulate(null);
    }

    private static ByteBuffer bytes(String text) {
        return ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void aSimulatedFullDiskStoresWhatFitsThenFailsAsTheJdkReportsEnospc() throws IOException {
        Path file = dir.resolve("out.bin");
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            DiskWrites.write(channel, file, bytes("abc"));
            DiskWrites.simulate((target, wanted) -> target.equals(file) ? 4 : wanted);
            assertThatThrownBy(() -> DiskWrites.write(channel, file, bytes("defghijk")))
                    .isExactlyInstanceOf(IOException.class)
                    .hasMessage("No space left on device");
            assertThat(Files.readString(file)).isEqualTo("abcdefg");
            Path other = dir.resolve("other.bin");
            try (FileChannel elsewhere = FileChannel.open(other, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
                DiskWrites.write(elsewhere, other, bytes("xyz"), 2);
            }
            assertThat(Files.readAllBytes(other)).containsExactly(0, 0, 'x', 'y', 'z');
            DiskWrites.simulate(null);
            DiskWrites.write(channel, file, bytes("!"), 1);
            assertThat(Files.readString(file)).isEqualTo("a!cdefg");
        }
    }
}
