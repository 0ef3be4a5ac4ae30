package dev.safemerge.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real child JVM writes an output and is stopped mid-write: SIGTERM cleans up at once; after SIGKILL the next
 * {@link AtomicDirectory#begin} removes the dead process's temporary directory and keeps a live one's. The timeout
 * only keeps a regression from hanging the build.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class AtomicDirectoryInterruptTest {
    /** The child: begins {@code args[0]}, writes a file, says "ready" and waits to be stopped. */
    public static void main(String[] args) throws Exception {
        AtomicDirectory output = AtomicDirectory.begin(Path.of(args[0]));
        Files.write(output.path().resolve("model.safetensors"), new byte[1 << 20]);
        System.out.println("ready");
        System.out.flush();
        new CountDownLatch(1).await();
    }

    static Process startWriter(Path target) throws IOException {
        Process child = new ProcessBuilder(
                        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                        "-cp",
                        System.getProperty("java.class.path"),
                        AtomicDirectoryInterruptTest.class.getName(),
                        target.toString())
                .redirectError(ProcessBuilder.Redirect.DISCARD)
                .start();
        BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
        assertThat(out.readLine()).isEqualTo("ready");
        return child;
    }

    static List<Path> temporaries(Path dir) throws IOException {
        try (Stream<Path> entries = Files.list(dir)) {
            return entries.filter(p -> p.getFileName().toString().contains(".tmp-"))
                    .toList();
        }
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
