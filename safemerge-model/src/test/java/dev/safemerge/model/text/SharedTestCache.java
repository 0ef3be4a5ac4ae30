package dev.safemerge.model.text;

import java.io.IOException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * A cache folder that builds running at the same time fill: each fills a folder of its own and renames it into place,
 * and the first one there wins.
 */
public final class SharedTestCache {
    private SharedTestCache() {}

    /**
     * Renames {@code filled} onto {@code target}. When another build's copy is already there ({@code marker}, a file
     * inside it, exists), ours stays behind unused; any other failure is rethrown.
     */
    public static void moveIntoPlace(Path filled, Path target, Path marker) throws IOException {
        try {
            Files.move(filled, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (FileSystemException e) {
            // Linux reports a rename onto another build's non-empty folder as a plain FileSystemException ("Directory
            // not empty"), not as DirectoryNotEmptyException
            if (!Files.isRegularFile(marker)) {
                throw e;
            }
        }
    }
}
