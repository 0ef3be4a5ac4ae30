package dev.safemerge.tensor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * An output directory that appears complete or not at all. Files are written into a temporary directory beside the
 * target ({@code .name.tmp-<random>}, same file system so the final rename is atomic); {@link #commit()} fsyncs
 * every file and the directory, then renames it onto the target. Closing without committing deletes the temporary
 * directory, so a crash or an error never leaves a half-written model where a complete one is expected.
 *
 * <p>SIGTERM and SIGINT delete every uncommitted temporary directory before the process exits. After a SIGKILL the
 * temporary directory stays; its name records the owner's pid and start time ({@code .name.tmp-<pid>-<start>-<random>}),
 * and the next {@link #begin} of the same target removes those whose owner is no longer running (and only those).
 *
 * <p>Replacing an existing target takes two renames: the old directory is moved aside to
 * {@code .name.old-<pid>-<start>-<random>}, then the new one is moved in. A SIGKILL between them leaves no target;
 * {@link #recover} (run by {@link #begin}) moves a dead owner's old copy back, or deletes it once a target exists. An
 * old copy is complete by construction (only the whole target is ever renamed to that name; it is renamed to a
 * temporary name before being deleted), so putting it back restores exactly the output that was there.
 */
public final class AtomicDirectory implements AutoCloseable {
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final Set<AtomicDirectory> OPEN = ConcurrentHashMap.newKeySet();
    private static final Pattern OWNED_TEMP = Pattern.compile("\\.tmp-(\\d+)-(\\d+)-[0-9a-f]+$");
    private static final Pattern OWNED_OLD = Pattern.compile("\\.old-(\\d+)-(\\d+)-[0-9a-f]+$");

    /** Runs between moving the old target aside and moving the new one in; tests use it to kill the process there. */
    static Runnable betweenRenames = () -> {};

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(AtomicDirectory::abandonAll, "abandon-temporary-outputs"));
    }

    private final Path target;
    private final Path temp;
    private final boolean overwrite;
    private boolean committed;
    private boolean closed;

    private AtomicDirectory(Path target, Path temp, boolean overwrite) {
        this.target = target;
        this.temp = temp;
        this.overwrite = overwrite;
    }

    /**
     * Starts writing {@code target}. Unless {@code overwrite} is set, an existing non-empty target is refused now,
     * before any work is done, with a {@link BadInputException}.
     */
    public static AtomicDirectory begin(Path target, boolean overwrite) {
        Path absolute = target.toAbsolutePath().normalize();
        Path parent = absolute.getParent();
        if (parent == null || absolute.getFileName() == null) {
            throw new BadInputException(target + ": cannot write a directory at the file system root");
        }
        recover(absolute);
        checkTarget(absolute, overwrite);
        try {
            Files.createDirectories(parent);
            removeStaleTemporaries(absolute);
            Path temp = parent.resolve(tempPrefix(absolute) + ownerTag());
            Files.createDirectory(temp);
            AtomicDirectory output = new AtomicDirectory(absolute, temp, overwrite);
            OPEN.add(output);
            return output;
        } catch (IOException e) {
            throw new BadInputException(target + ": cannot create output directory: " + e.getMessage(), e);
        }
    }

    private static String tempPrefix(Path target) {
        return "." + target.getFileName() + ".tmp-";
    }

    /** {@code <pid>-<start>-<random>}: who owns a side name, so later runs can tell whether its owner is gone. */
    private static String ownerTag() {
        return ProcessHandle.current().pid() + "-" + startMillis(ProcessHandle.current()) + "-" + randomSuffix();
    }

    private static long startMillis(ProcessHandle process) {
        return process.info().startInstant().map(Instant::toEpochMilli).orElse(0L);
    }

    /**
     * Deletes temporary directories of {@code target} left by processes that are gone: a pid that no longer runs, or
     * now belongs to a process started at another time. Names without an owner are left alone.
     */
    private static void removeStaleTemporaries(Path target) throws IOException {
        String prefix = tempPrefix(target);
        List<Path> candidates;
        try (Stream<Path> entries = Files.list(target.getParent())) {
            candidates = entries.filter(p -> p.getFileName().toString().startsWith(prefix))
                    .toList();
        }
        for (Path candidate : candidates) {
            Matcher owner = OWNED_TEMP.matcher(candidate.getFileName().toString());
            if (!owner.find() || !Files.isDirectory(candidate)) {
                continue;
            }
            if (!ownerAlive(owner)) {
                deleteTree(candidate);
            }
        }
    }

    /** Whether the process named by a side name's pid and start time still runs (a reused pid does not count). */
    private static boolean ownerAlive(Matcher owner) {
        long pid = Long.parseLong(owner.group(1));
        long started = Long.parseLong(owner.group(2));
        return ProcessHandle.of(pid)
                .filter(ProcessHandle::isAlive)
                .map(p -> startMillis(p) == started)
                .orElse(false);
    }

    /**
     * Finishes a replacement of {@code target} cut short by a killed process: when the target is absent, the dead
     * owner's old copy is moved back (the most recently started owner's, should there be several); when it exists,
     * dead owners' old copies are deleted. Old copies of a running process are left alone. Every command that writes
     * {@code target} calls this before deciding whether the target exists.
     */
    public static void recover(Path target) {
        Path absolute = target.toAbsolutePath().normalize();
        Path parent = absolute.getParent();
        if (parent == null || absolute.getFileName() == null || !Files.isDirectory(parent)) {
            return;
        }
        String prefix = "." + absolute.getFileName() + ".old-";
        try {
            List<Path> dead;
            try (Stream<Path> entries = Files.list(parent)) {
                dead = entries.filter(p -> p.getFileName().toString().startsWith(prefix))
                        .filter(Files::isDirectory)
                        .filter(p -> {
                            Matcher owner = OWNED_OLD.matcher(p.getFileName().toString());
                            return owner.find() && !ownerAlive(owner);
                        })
                        .sorted(Comparator.comparingLong(AtomicDirectory::ownerStart)
                                .reversed())
                        .toList();
            }
            for (Path old : dead) {
                if (!Files.exists(absolute)) {
                    Files.move(old, absolute, StandardCopyOption.ATOMIC_MOVE);
                    syncDirectory(parent);
                } else {
                    discard(old);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot recover the interrupted replacement of " + absolute, e);
        }
    }

    private static long ownerStart(Path old) {
        Matcher owner = OWNED_OLD.matcher(old.getFileName().toString());
        return owner.find() ? Long.parseLong(owner.group(2)) : 0L;
    }

    /**
     * Deletes a directory beside a target by first renaming it to an owned temporary name, so that a kill part-way
     * through never leaves a partial tree under a name that would be taken for a complete copy.
     */
    private static void discard(Path dir) throws IOException {
        Path parent = dir.getParent();
        String name = dir.getFileName().toString();
        String targetName = name.substring(1, name.lastIndexOf(".old-"));
        Path doomed = parent.resolve("." + targetName + ".tmp-" + ownerTag());
        Files.move(dir, doomed, StandardCopyOption.ATOMIC_MOVE);
        deleteTree(doomed);
    }

    /** On SIGTERM or SIGINT: best effort; what a still-running writer recreates, the next run removes. */
    private static void abandonAll() {
        for (AtomicDirectory output : OPEN) {
            try {
                deleteTree(output.temp);
            } catch (IOException | UncheckedIOException e) {
                System.err.println("warning: cannot delete temporary output " + output.temp + ": " + e.getMessage());
            }
        }
    }

    /** Same as {@code begin(target, false)}. */
    public static AtomicDirectory begin(Path target) {
        return begin(target, false);
    }

    private static void checkTarget(Path target, boolean overwrite) {
        if (Files.exists(target) && !Files.isDirectory(target)) {
            throw new BadInputException(target + ": exists and is not a directory");
        }
        if (!overwrite && Files.isDirectory(target) && !isEmpty(target)) {
            throw new BadInputException(
                    target + ": output directory exists and is not empty (choose another path or remove it)");
        }
    }

    private static boolean isEmpty(Path dir) {
        try (Stream<Path> entries = Files.list(dir)) {
            return entries.findAny().isEmpty();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + dir, e);
        }
    }

    private static String randomSuffix() {
        byte[] bytes = new byte[6];
        RANDOM.nextBytes(bytes);
        return HexFormat.of().formatHex(bytes);
    }

    /** Where the final directory will be. */
    public Path target() {
        return target;
    }

    /** The temporary directory to write into until {@link #commit()}. */
    public Path path() {
        return temp;
    }

    /** Fsyncs every file and directory under the temporary directory, then renames it onto the target. */
    public void commit() {
        if (closed || committed) {
            throw new IllegalStateException("output " + target + " was already committed or abandoned");
        }
        try {
            syncTree(temp);
            checkTarget(target, overwrite);
            Path parent = target.getParent();
            if (Files.isDirectory(target) && !isEmpty(target)) {
                // rename(2) cannot replace a non-empty directory: move the old one aside first, and only delete it
                // once the new one is in place, so that some complete version exists at every moment.
                Path old = parent.resolve("." + target.getFileName() + ".old-" + ownerTag());
                Files.move(target, old, StandardCopyOption.ATOMIC_MOVE);
                betweenRenames.run();
                Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
                syncDirectory(parent);
                discard(old);
            } else {
                try {
                    Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
                } catch (DirectoryNotEmptyException | FileAlreadyExistsException e) {
                    throw new BadInputException(target + ": output directory appeared while writing it", e);
                }
            }
            syncDirectory(parent);
            committed = true;
            OPEN.remove(this);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot commit " + target, e);
        }
    }

    public boolean committed() {
        return committed;
    }

    /** Deletes the temporary directory unless {@link #commit()} succeeded. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        OPEN.remove(this);
        if (!committed) {
            try {
                deleteTree(temp);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot delete temporary output " + temp, e);
            }
        }
    }

    /** Forces a file's content to disk. */
    static void syncFile(Path file) throws IOException {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
            channel.force(true);
        }
    }

    /** Forces a directory's entries (names created or renamed in it) to disk. */
    static void syncDirectory(Path dir) throws IOException {
        try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
            channel.force(true);
        }
    }

    private static void syncTree(Path root) throws IOException {
        List<Path> entries;
        try (Stream<Path> walk = Files.walk(root)) {
            entries = walk.sorted(Comparator.reverseOrder()).toList();
        }
        for (Path entry : entries) {
            if (Files.isDirectory(entry)) {
                syncDirectory(entry);
            } else if (Files.isRegularFile(entry)) {
                syncFile(entry);
            }
        }
    }

    static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        List<Path> entries;
        try (Stream<Path> walk = Files.walk(root)) {
            entries = walk.sorted(Comparator.reverseOrder()).toList();
        }
        for (Path entry : entries) {
            Files.deleteIfExists(entry);
        }
    }
}
