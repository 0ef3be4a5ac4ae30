package dev.safemerge.app;

import static org.assertj.core.api.Assertions.assertThat;

import dev.safemerge.model.text.ChatMessage;
import java.io.BufferedReader;
import java.io.PrintWriter;
import java.io.StringReader;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ChatCommandTest {
    /** A scripted session: what the user types, what reaches the model and what the terminal shows. */
    @Test
    void bannerHelpAndUnknownCommandsNeverReachTheModel() throws Exception {
        ChatCommand chat = new ChatCommand();
        chat.system = "Answer briefly.";
        StringWriter screen = new StringWriter();
        List<List<ChatMessage>> sent = new ArrayList<>();
        String typed = "hello\n/help\n/sumary please\n\n/reset\nagain\n/exit\nnever read\n";
        int code = chat.converse(
                new BufferedReader(new StringReader(typed)), new PrintWriter(screen, true), "tiny-llama", history -> {
                    sent.add(List.copyOf(history));
                    return "hi";
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
}
