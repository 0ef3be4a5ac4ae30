package dev.safemerge.tensor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * One file replaced so that readers see either its old content or the complete new one: the new content goes to a
 * temporary beside the target ({@code .NAME.tmp}), is forced to disk and renamed over the target. On any failure the
 * temporary is deleted, so a full disk leaves nothing partial behind. (A whole directory of files is replaced by
 * {@link AtomicDirectory}.)
 */
public final class AtomicFile {
    /** Writes the new content to the temporary file it is given. */
    @FunctionalInterface
    public interface Contents {
        void writeTo(Path temp) throws IOException;
    }

    private AtomicFile() {}

    /** Replaces {@code target} with UTF-8 text, creating its directory if needed. */
    public static void write(Path target, String text) {
        write(target, text.getBytes(StandardCharsets.UTF_8));
    }

    /** Replaces {@code target} with {@code content}, creating its directory if needed. */
    public static void write(Path target, byte[] content) {
        replace(target, temp -> DiskWrites.writeFile(temp, content));
    }

    /** Replaces {@code target} with what {@code contents} writes to the temporary, creating its directory if needed. */
    public static void replace(Path target, Contents contents) {
        Path absolute = target.toAbsolutePath();
        Path temp = absolute.resolveSibling("." + absolute.getFileName() + ".tmp");
        try {
            Files.createDirectories(absolute.getParent());
            contents.writeTo(temp);
            try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.WRITE)) {
                channel.force(true);
            }
            try {
                Files.move(temp, absolute, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(temp, absolute, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException | RuntimeException e) {
            try {
                Files.deleteIfExists(temp);
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            if (e instanceof RuntimeException runtime) {
                throw runtime;
            }
            throw new UncheckedIOException("cannot write " + target, (IOException) e);
        }
    }
}
