package dev.safemerge.app;

import dev.safemerge.tensor.AtomicDirectory;
import dev.safemerge.tensor.BadInputException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import picocli.CommandLine.Option;

/**
 * {@code --overwrite}, and the one rule for an output that already exists, checked before any work: refused, naming
 * the option, unless it is given; the command then builds the new output beside the old one and replaces it in one
 * rename once complete, so a failed or interrupted run leaves the old output intact.
 */
final class OverwriteOption {
    @Option(
            names = "--overwrite",
            description = "Replace an existing output: the new one is built beside it and swapped in only once"
                    + " complete, so an interrupted run leaves the old one intact.")
    boolean overwrite;

    /**
     * An output directory: missing or empty is fine; a file in its place is always refused. A replacement of it that
     * a killed run left half done is finished first (the old output moved back), so the check sees what is there.
     */
    void checkDirectory(Path out) {
        AtomicDirectory.recover(out);
        if (Files.exists(out) && !Files.isDirectory(out)) {
            throw new BadInputException(out + ": exists and is not a directory");
        }
        if (!overwrite && Files.isDirectory(out) && !isEmpty(out)) {
            throw new BadInputException(
                    out + ": output directory exists and is not empty (pass --overwrite to replace it, or choose"
                            + " another path)");
        }
    }

    /** An output file named by {@code option}: a directory in its place is always refused. */
    void checkFile(String option, Path out) {
        if (Files.isDirectory(out)) {
            throw new BadInputException(option + " " + out + ": is a directory; name the file to write");
        }
        if (!overwrite && Files.exists(out)) {
            throw new BadInputException(
                    option + " " + out + ": exists (pass --overwrite to replace it, or choose another path)");
        }
    }

    private static boolean isEmpty(Path dir) {
        try (Stream<Path> entries = Files.list(dir)) {
            return entries.findAny().isEmpty();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + dir, e);
        }
    }
}
