package dev.safemerge.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

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
 * wait for, so only the interrupt can end it. The timeout runs on its own thread because a blocked read of the
 * chat's output does not answer to an interrupt.
 */
class ChatInterruptTest {
    @Test
    @Timeout(value = 5, unit = TimeUnit.MINUTES, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void sigintStopsTheAnswerThenEndsTheChatAtThePrompt(@TempDir Path dir) throws Exception {
        assumeTrue(
                Files.isExecutable(ChatProcess.PERL),
                ChatProcess.PERL + " is needed to give the chat a default SIGINT");
        Path model = ChatProcess.longContextModel(dir.resolve("model"));
        Process chat = new ProcessBuilder(ChatProcess.command(
                        dir.resolve("home"),
                        model,
                        "--ignore-eos",
                        "--max-new-tokens",
                        Integer.toString(ChatProcess.LONG_CONTEXT - 64),
                        "--no-history"))
                .redirectError(dir.resolve("stderr.txt").toFile())
                .start();
        try {
            ChatProcess.Screen screen = new ChatProcess.Screen(chat.getInputStream());
            OutputStream keyboard = chat.getOutputStream();
            screen.readUntil("> ");
            keyboard.write("tell a long story\n".getBytes(StandardCharsets.UTF_8));
            keyboard.flush();
            screen.readSomething();
            interrupt(chat);
            screen.readUntil(ChatCommand.STOPPED + "\n> ");
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
}
