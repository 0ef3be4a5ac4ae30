package dev.safemerge.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real child JVM writes an output and is stopped mid-write: SIGTERM cleans up at once; after SIGKILL the next
 * {@link AtomicDirectory#begin} removes the dead process's temporary directory and keeps a live one's; a replacement
 * killed between its two renames is undone (or its old copy removed) by the next run. The timeout
 * only keeps a regression from hanging the build.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class AtomicDirectoryInterruptTest {
    /**
     * The child: begins {@code args[0]}, writes a file, says "ready" and waits to be stopped. With a second argument
     * "replace" it instead replaces the existing {@code args[0]} and halts (as SIGKILL would: no shutdown hooks) right
     * after the old output was moved aside, before the new one is moved in.
     */
    public static void main(String[] args) throws Exception {
        if (args.length > 1 && args[1].equals("replace")) {
            AtomicDirectory.betweenRenames = () -> Runtime.getRuntime().halt(137);
            AtomicDirectory replacement = AtomicDirectory.begin(Path.of(args[0]), true);
            Files.writeString(replacement.path().resolve("config.json"), "new");
            replacement.commit();
            return;
        }
        AtomicDirectory output = AtomicDirectory.begin(Path.of(args[0]));
        Files.write(output.path().resolve("model.safetensors"), new byte[1 << 20]);
        System.out.println("ready");
        System.out.flush();
        new CountDownLatch(1).await();
    }

    /** This class's {@link #main} in a child JVM with {@code args}. */
    static Process child(String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp",
                System.getProperty("java.class.path"),
                AtomicDirectoryInterruptTest.class.getName()));
        command.addAll(List.of(args));
        return new ProcessBuilder(command)
                .redirectError(ProcessBuilder.Redirect.DISCARD)
                .start();
    }

    static Process startWriter(Path target) throws IOException {
        Process child = child(target.toString());
        BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
        assertThat(out.readLine()).isEqualTo("ready");
        return child;
    }

    static List<Path> temporaries(Path dir) throws IOException {
        return sideCopies(dir, ".tmp-");
    }

    /** Replaces {@code target} in a child killed between the two renames; returns the old copy it left aside. */
    static Path killedMidReplace(Path target) throws Exception {
        Process child = child(target.toString(), "replace");
        assertThat(child.waitFor()).isEqualTo(137);
        assertThat(target).doesNotExist();
        List<Path> aside = sideCopies(target.getParent(), ".old-");
        assertThat(aside).hasSize(1);
        assertThat(aside.getFirst().resolve("config.json")).hasContent("old");
        return aside.getFirst();
    }

    static List<Path> sideCopies(Path dir, String marker) throws IOException {
        try (Stream<Path> entries = Files.list(dir)) {
            return entries.filter(p -> p.getFileName().toString().contains(marker))
                    .toList();
        }
    }

    static Path oldOutput(Path target) throws IOException {
        Files.createDirectories(target);
        Files.writeString(target.resolve("config.json"), "old");
        return target;
    }

    @Test
    void aReplacementKilledBetweenItsRenamesIsUndoneByTheNextRun(@TempDir Path dir) throws Exception {
        Path target = oldOutput(dir.resolve("out"));
        killedMidReplace(target);
        // the next run without --overwrite finds the old output back in place, and refuses to replace it
        assertThatThrownBy(() -> AtomicDirectory.begin(target))
                .isInstanceOf(BadInputException.class)
                .hasMessageContaining("exists and is not empty");
        assertThat(target.resolve("config.json")).hasContent("old");
        assertThat(sideCopies(dir, ".old-")).isEmpty();
        assertThat(temporaries(dir)).hasSize(1); // the killed child's own new output, removed by the next begin
        try (AtomicDirectory rerun = AtomicDirectory.begin(target, true)) {
            assertThat(temporaries(dir)).containsExactly(rerun.path());
            Files.writeString(rerun.path().resolve("config.json"), "new");
            rerun.commit();
        }
        assertThat(target.resolve("config.json")).hasContent("new");
        assertThat(sideCopies(dir, ".old-")).isEmpty();
        assertThat(temporaries(dir)).isEmpty();
    }

    @Test
    void aDeadOwnersOldCopyIsDeletedWhenTheTargetExistsAgain(@TempDir Path dir) throws Exception {
        Path target = oldOutput(dir.resolve("out"));
        killedMidReplace(target);
        Files.createDirectories(target);
        Files.writeString(target.resolve("config.json"), "written since");
        AtomicDirectory.recover(target);
        assertThat(target.resolve("config.json")).hasContent("written since");
        assertThat(sideCopies(dir, ".old-")).isEmpty();
    }

    @Test
    void anOldCopyOfARunningProcessIsLeftAlone(@TempDir Path dir) throws Exception {
        Path target = dir.resolve("out");
        ProcessHandle self = ProcessHandle.current();
        long started = self.info().startInstant().orElseThrow().toEpochMilli();
        Path aside = oldOutput(dir.resolve(".out.old-" + self.pid() + "-" + started + "-0123456789ab"));
        AtomicDirectory.recover(target);
        assertThat(target).doesNotExist();
        assertThat(aside.resolve("config.json")).hasContent("old");
    }

    @Test
    void sigtermRemovesTheTemporaryOutputBeforeExiting(@TempDir Path dir) throws Exception {
        Process child = startWriter(dir.resolve("out"));
        assertThat(temporaries(dir)).hasSize(1);
        child.destroy();
        child.waitFor();
        assertThat(temporaries(dir)).isEmpty();
        assertThat(dir.resolve("out")).doesNotExist();
    }

    @Test
    void afterSigkillTheNextRunRemovesOnlyTemporariesOfDeadProcesses(@TempDir Path dir) throws Exception {
        Path target = dir.resolve("out");
        Process killed = startWriter(target);
        killed.destroyForcibly();
        killed.waitFor();
        List<Path> stale = temporaries(dir);
        assertThat(stale).hasSize(1);
        // the next writer of the same target removes the dead one's temporary directory
        Process alive = startWriter(target);
        try {
            assertThat(temporaries(dir)).hasSize(1).doesNotContainAnyElementsOf(stale);
            // and a writer after that keeps the temporary directory of the one still running
            try (AtomicDirectory rerun = AtomicDirectory.begin(target)) {
                List<Path> left = temporaries(dir);
                assertThat(left).hasSize(2).contains(rerun.path());
                assertThat(left)
                        .anySatisfy(p -> assertThat(p.getFileName().toString()).contains(".tmp-" + alive.pid() + "-"));
                Files.writeString(rerun.path().resolve("config.json"), "{}");
                rerun.commit();
            }
            assertThat(temporaries(dir)).hasSize(1);
        } finally {
            alive.destroyForcibly();
            alive.waitFor();
        }
    }
}
