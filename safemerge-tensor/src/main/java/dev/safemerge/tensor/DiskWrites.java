package dev.safemerge.tensor;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Where output bytes meet the disk: safetensors shards ({@link SafetensorsWriter}), files written atomically and the
 * generation cache all write through here. A full disk therefore fails the same way wherever it strikes, and a test
 * can make the disk fill at a chosen file without mounting a small file system ({@link #simulate}).
 */
public final class DiskWrites {
    /** The C library's text for ENOSPC, which is all the JDK reports of a full disk. */
    public static final String NO_SPACE = "No space left on device";

    /** A disk that fills up, for tests: how many of the {@code wanted} bytes for {@code file} still fit. */
    @FunctionalInterface
    public interface Space {
        long fits(Path file, long wanted);
    }

    // null: the real disk decides
    private static volatile Space space;

    private DiskWrites() {}

    /**
     * Tests only: from now on a write stores the bytes that {@code space} says fit and then fails as a full disk does
     * (an {@link IOException} with the C library's text); null gives the real disk back.
     */
    public static void simulate(Space space) {
        DiskWrites.space = space;
    }

    /** Creates or truncates {@code file} and writes {@code content} into it. */
    public static void writeFile(Path file, byte[] content) throws IOException {
        try (FileChannel channel = FileChannel.open(
                file, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
            write(channel, file, ByteBuffer.wrap(content));
        }
    }

    /** Writes all of {@code bytes} at the channel's position, which ends after them. */
    public static void write(FileChannel channel, Path file, ByteBuffer bytes) throws IOException {
        writeFitting(channel, file, bytes, -1);
    }

    /** Writes all of {@code bytes} at {@code position}; the channel's position is not used. */
    public static void write(FileChannel channel, Path file, ByteBuffer bytes, long position) throws IOException {
        writeFitting(channel, file, bytes, position);
    }

    private static void writeFitting(FileChannel channel, Path file, ByteBuffer bytes, long position)
            throws IOException {
        Space limit = space;
        long fits = limit == null ? bytes.remaining() : Math.max(0, limit.fits(file, bytes.remaining()));
        if (fits < bytes.remaining()) {
            // as a real full disk does: the bytes that fit are written, the write then fails
            ByteBuffer part = bytes.slice().limit((int) fits);
            writeAll(channel, part, position);
            throw new IOException(NO_SPACE);
        }
        writeAll(channel, bytes, position);
    }

    private static void writeAll(FileChannel channel, ByteBuffer bytes, long position) throws IOException {
        long at = position;
        while (bytes.hasRemaining()) {
            if (at < 0) {
                channel.write(bytes);
            } else {
                at += channel.write(bytes, at);
            }
        }
    }
}
