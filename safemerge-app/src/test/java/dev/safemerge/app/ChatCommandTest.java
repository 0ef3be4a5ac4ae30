package dev.safemerge.app;

import static org.assertj.core.api.Assertions.assertThat;

import dev.safemerge.model.text.ChatMessage;
import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringReader;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.jline.terminal.Terminal;
import org.jline.terminal.TerminalBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ChatCommandTest {
    /** Typed lines as piped input delivers them. */
    private static ChatCommand.Input typed(String text, PrintWriter screen) {
        BufferedReader reader = new BufferedReader(new StringReader(text));
        return new ChatCommand.Input() {
            @Override
            public String readLine(String prompt) throws IOException {
                screen.print(prompt);
                return reader.readLine();
            }

            @Override
            public void close() {}
        };
    }

    /** A scripted session: what the user types, what reaches the model and what the terminal shows. */
    @Test
    void bannerHelpAndUnknownCommandsNeverReachTheModel() throws Exception {
        ChatCommand chat = new ChatCommand();
        chat.system = "Answer briefly.";
        StringWriter screen = new StringWriter();
        PrintWriter out = new PrintWriter(screen, true);
        List<List<ChatMessage>> sent = new ArrayList<>();
        String lines = "hello\n/help\n/sumary please\n\n/reset\nagain\n/exit\nnever read\n";
        int code = chat.converse(
                typed(lines, out), out, "tiny-llama", new ChatCommand.Interrupts(), (history, cancelled) -> {
                    sent.add(history);
                    return new ChatCommand.Answer("hi", false);
                });
        assertThat(code).isZero();
        assertThat(screen.toString())
                .startsWith("chat with tiny-llama (system: Answer briefly.)\ncommands: /help, /reset, /exit\n")
                .contains(ChatCommand.HELP)
                .contains("unknown command /sumary (not sent); /help lists them")
                .contains("(new conversation)");
        assertThat(sent).hasSize(2);
        assertThat(sent.get(0)).containsExactly(ChatMessage.system("Answer briefly."), ChatMessage.user("hello"));
        assertThat(sent.get(1))
                .as("after /reset only the system turn and the new question")
                .containsExactly(ChatMessage.system("Answer briefly."), ChatMessage.user("again"));
    }

    /**
     * Ctrl-C while an answer is written calls {@link ChatCommand.Interrupts#interrupt} (what the signal handler does):
     * the generation stops at its next token, the prompt returns, and the stopped turn is not part of the
     * conversation; at the prompt the same call reports that nothing was stopped, so the chat ends.
     */
    @Test
    void ctrlCDuringAnAnswerStopsItAtTheNextTokenAndReturnsToThePrompt() throws Exception {
        ChatCommand chat = new ChatCommand();
        StringWriter screen = new StringWriter();
        PrintWriter out = new PrintWriter(screen, true);
        ChatCommand.Interrupts interrupts = new ChatCommand.Interrupts();
        List<List<ChatMessage>> sent = new ArrayList<>();
        List<Integer> tokensWritten = new ArrayList<>();
        int code = chat.converse(typed("tell a long story\nshort one\n", out), out, "tiny", interrupts, (h, c) -> {
            sent.add(h);
            int written = 0;
            StringBuilder text = new StringBuilder();
            for (int token = 0; token < 1000; token++) {
                if (c.getAsBoolean()) {
                    out.println();
                    tokensWritten.add(written);
                    return new ChatCommand.Answer(text.toString(), true);
                }
                text.append("word ");
                out.print("word ");
                written++;
                if (sent.size() == 1 && written == 1) {
                    assertThat(interrupts.interrupt())
                            .as("an answer was being written")
                            .isTrue();
                }
            }
            tokensWritten.add(written);
            return new ChatCommand.Answer(text.toString(), false);
        });
        assertThat(code).isZero();
        assertThat(tokensWritten).containsExactly(1, 1000);
        assertThat(screen.toString()).contains("> word \n" + ChatCommand.STOPPED + "\n> ");
        assertThat(sent.get(1))
                .as("the stopped question and its partial answer are not sent again")
                .containsExactly(ChatMessage.user("short one"));
        assertThat(interrupts.interrupt())
                .as("at the prompt Ctrl-C ends the chat")
                .isFalse();
    }

    /** In a terminal, lines go through JLine's editor and are kept in the history file for the next session. */
    @Test
    void terminalInputKeepsTypedLinesInTheHistoryFile(@TempDir Path dir) throws Exception {
        Path history = dir.resolve("home/.safemerge/chat_history");
        ByteArrayOutputStream echo = new ByteArrayOutputStream();
        try (Terminal terminal = TerminalBuilder.builder()
                        .streams(
                                new ByteArrayInputStream("first question\nsecond\n".getBytes(StandardCharsets.UTF_8)),
                                echo)
                        .dumb(true)
                        .build();
                ChatCommand.TerminalInput input = ChatCommand.TerminalInput.open(terminal, history)) {
            assertThat(input.readLine("> ")).isEqualTo("first question");
            assertThat(input.readLine("> ")).isEqualTo("second");
            assertThat(input.readLine("> ")).as("end of input (Ctrl-D)").isNull();
        }
        assertThat(Files.readString(history)).contains("first question").contains("second");
    }
}
