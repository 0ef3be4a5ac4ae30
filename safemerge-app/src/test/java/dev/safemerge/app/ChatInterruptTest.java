package dev.safemerge.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.safemerge.tensor.JsonMappers;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real chat in its own process, fed by a pipe, gets SIGINT as a user's Ctrl-C: once the first token of an
 * answer is on its output, the answer stops and the prompt returns; a second SIGINT at the prompt ends the chat with
 * exit 0. Every step waits for output, never for time: the answer is allowed far more tokens than the test could
 * wait for, so only the interrupt can end it.
 */
class ChatInterruptTest {
    private static final String PERL = "/usr/bin/perl";

    @Test
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void sigintStopsTheAnswerThenEndsTheChatAtThePrompt(@TempDir Path dir) throws Exception {
        Path model = TinyChatModel.write(dir.resolve("model"), 1);
        ObjectNode config = (ObjectNode)
                JsonMappers.plain().readTree(model.resolve("config.json").toFile());
        config.put("max_position_embeddings", 1 << 18);
        Files.writeString(model.resolve("config.json"), config.toPrettyString());
        // A job started in the background of a non-interactive shell (as a CI step may be) inherits SIGINT ignored,
        // and a JVM leaves an ignored SIGINT ignored: perl restores the default disposition before exec'ing the chat,
        // which keeps the same pid.
        assumeTrue(Files.isExecutable(Path.of(PERL)), PERL + " is needed to give the chat a default SIGINT");
        Process chat = new ProcessBuilder(
                        PERL,
                        "-e",
                        "$SIG{INT} = 'DEFAULT'; exec @ARGV or die \"exec: $!\"",
                        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                        "--add-modules",
                        "jdk.incubator.vector",
                        "--enable-native-access=ALL-UNNAMED",
                        "-cp",
                        System.getProperty("java.class.path"),
                        Main.class.getName(),
                        "chat",
                        "--model",
                        model.toString(),
                        "--ignore-eos",
                        "--max-new-tokens",
                        Integer.toString((1 << 18) - 64),
                        "--no-history")
                .redirectError(dir.resolve("stderr.txt").toFile())
                .start();
        try {
            InputStream screen = chat.getInputStream();
            OutputStream keyboard = chat.getOutputStream();
            StringBuilder seen = new StringBuilder();
            readUntil(screen, seen, "> ");
            keyboard.write("tell a long story\n".getBytes(StandardCharsets.UTF_8));
            keyboard.flush();
            int answerStart = seen.length();
            while (seen.length() == answerStart) {
                read(screen, seen);
            }
            interrupt(chat);
            readUntil(screen, seen, ChatCommand.STOPPED + "\n> ");
            interrupt(chat);
            assertThat(chat.waitFor(2, TimeUnit.MINUTES)).isTrue();
            assertThat(chat.exitValue())
                    .as(Files.readString(dir.resolve("stderr.txt")))
                    .isZero();
        } finally {
            chat.destroyForcibly();
        }
    }

    private static void interrupt(Process process) throws Exception {
        Process kill = new ProcessBuilder("kill", "-s", "INT", Long.toString(process.pid()))
                .inheritIO()
                .start();
        assertThat(kill.waitFor()).isZero();
    }

    private static void readUntil(InputStream in, StringBuilder seen, String marker) throws IOException {
        while (seen.indexOf(marker) < 0) {
            read(in, seen);
        }
    }

    private static void read(InputStream in, StringBuilder seen) throws IOException {
        int b = in.read();
        if (b < 0) {
            throw new IOException("chat ended early; output so far: " + seen);
        }
        seen.append((char) b);
    }
}
