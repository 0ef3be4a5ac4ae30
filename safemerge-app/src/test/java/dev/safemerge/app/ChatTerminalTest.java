package dev.safemerge.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real chat on a real terminal: util-linux's {@code script} runs it on a pseudo-terminal, so JLine's system
 * terminal, raw mode, key bindings and the terminal's own Ctrl-C are what a user at a console gets. Keys are written
 * as a terminal sends them (arrow keys as escape sequences, Ctrl-C as byte 3); every step waits for output, never for
 * time.
 */
class ChatTerminalTest {
    private static final Path SCRIPT = Path.of("/usr/bin/script");

    /** The arrow keys as a terminal sends them in the application cursor mode the line editor switches on. */
    private static final String UP = "\033OA";

    private static final String LEFT = "\033OD";

    @Test
    @Timeout(value = 5, unit = TimeUnit.MINUTES, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void lineEditingHistoryAndCtrlCOnAPseudoTerminal(@TempDir Path dir) throws Exception {
        assumeTrue(Files.isExecutable(SCRIPT), SCRIPT + " (util-linux) is needed to give the chat a terminal");
        assumeTrue(
                Files.isExecutable(ChatProcess.PERL),
                ChatProcess.PERL + " is needed to give the chat a default SIGINT");
        Path model = ChatProcess.longContextModel(dir.resolve("model"));
        Path home = dir.resolve("home");
        List<String> chat = new ArrayList<>(ChatProcess.command(home, model, "--ignore-eos", "--max-new-tokens"));
        chat.add(Integer.toString(ChatProcess.LONG_CONTEXT - 64));
        ProcessBuilder builder = new ProcessBuilder(
                        SCRIPT.toString(),
                        "--quiet",
                        "--flush",
                        "--return",
                        "--command",
                        // script's terminal takes its size from script's own input, a pipe here: give it a window as
                        // a terminal emulator would
                        "stty cols 100 rows 40 && exec " + shellQuoted(chat),
                        "/dev/null")
                .redirectErrorStream(true);
        builder.environment().put("TERM", "xterm");
        Process terminal = builder.start();
        try {
            ChatProcess.Screen screen = new ChatProcess.Screen(terminal.getInputStream());
            OutputStream keyboard = terminal.getOutputStream();
            screen.readUntil("> ");

            // "helo", cursor left, "l": the editor inserts at the cursor, so the model is asked "hello"
            type(keyboard, "helo" + LEFT + "l\r");
            screen.readUntilAnswer();
            // Ctrl-C from the terminal stops the answer; the prompt returns and the chat goes on
            type(keyboard, "\003");
            screen.readUntil(ChatCommand.STOPPED);
            screen.readUntil("> ");

            // the up arrow recalls the previous line from the history, and the recalled line can be edited
            type(keyboard, UP + " again\r");
            screen.readUntilAnswer();
            type(keyboard, "\003");
            screen.readUntil(ChatCommand.STOPPED);
            screen.readUntil("> ");

            // Ctrl-D at an empty prompt ends the chat
            type(keyboard, "\004");
            assertThat(terminal.waitFor(2, TimeUnit.MINUTES)).isTrue();
            assertThat(terminal.exitValue()).as(screen.toString()).isZero();
        } finally {
            terminal.destroyForcibly();
        }
        List<String> typed = Files.readAllLines(home.resolve(".safemerge/chat_history")).stream()
                .map(entry -> entry.substring(entry.indexOf(':') + 1))
                .toList();
        assertThat(typed).as("the history file keeps the edited lines").containsExactly("hello", "hello again");
    }

    private static void type(OutputStream keyboard, String keys) throws Exception {
        keyboard.write(keys.getBytes(StandardCharsets.UTF_8));
        keyboard.flush();
    }

    private static String shellQuoted(List<String> command) {
        return String.join(
                " ",
                command.stream()
                        .map(word -> "'" + word.replace("'", "'\\''") + "'")
                        .toList());
    }
}
