package dev.safemerge.app;

import dev.safemerge.model.generate.Sampling;
import dev.safemerge.model.text.ChatMessage;
import dev.safemerge.model.text.LoadedTextModel;
import dev.safemerge.model.text.TextGenerator;
import dev.safemerge.tensor.Progress;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import org.jline.reader.EndOfFileException;
import org.jline.reader.LineReader;
import org.jline.reader.LineReaderBuilder;
import org.jline.reader.UserInterruptException;
import org.jline.terminal.Terminal;
import org.jline.terminal.TerminalBuilder;
import org.jline.utils.Signals;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(
        name = "chat",
        mixinStandardHelpOptions = true,
        description = {
            "Chat with a local model in the terminal; answers stream as they are generated.",
            "Type /help for the commands: /reset starts a new conversation, /exit (or end of input) quits; other"
                    + " lines starting with / are never sent to the model.",
            "In a terminal, lines can be edited and earlier ones recalled with the arrow keys; they are kept in"
                    + " ~/.safemerge/chat_history unless --no-history. Ctrl-C stops the answer being written and"
                    + " returns to the prompt; Ctrl-C at an empty prompt or Ctrl-D quits. Input from a pipe is read"
                    + " line by line."
        },
        footer = {
            "",
            SamplingOptions.DEFAULTS_NOTE,
            "",
            "Example:",
            "  safemerge chat --model MODEL_DIR --system 'Answer briefly.'"
        })
final class ChatCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "DIR", description = "HF model directory.")
    Path model;

    @Option(names = "--adapter", paramLabel = "DIR", description = "PEFT LoRA adapter directory to apply.")
    Path adapter;

    @Option(names = "--system", paramLabel = "TEXT", description = "System message at the start of each conversation.")
    String system;

    @Option(
            names = "--max-new-tokens",
            defaultValue = "512",
            paramLabel = "N",
            description = "Most tokens per answer. Default: ${DEFAULT-VALUE}.")
    int maxNewTokens;

    @Option(names = "--no-history", description = "Keep no history of typed lines in ~/.safemerge/chat_history.")
    boolean noHistory;

    @Mixin
    SamplingOptions sampling;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    /** The chat commands; anything else typed is sent to the model, and an unknown /word is not. */
    static final String HELP = """
            /help   this list
            /reset  start a new conversation (keeps --system)
            /exit   quit (also end of input, or Ctrl-C at an empty prompt)""";

    static final String STOPPED = "(answer stopped; the question and the partial answer are not kept)";

    /** Lines the user types. */
    interface Input extends AutoCloseable {
        /** The next line, or null when the chat should end (end of input, Ctrl-C at an empty prompt). */
        String readLine(String prompt) throws IOException;

        @Override
        void close() throws IOException;
    }

    /** Writes the model's answer to a conversation as it is generated, stopping once {@code cancelled} is true. */
    interface Answerer {
        Answer answer(List<ChatMessage> history, BooleanSupplier cancelled);
    }

    /** @param stopped the answer was cut short by Ctrl-C */
    record Answer(String text, boolean stopped) {}

    /**
     * What Ctrl-C means: while an answer is being written, stop it (the generation ends at its next token); at the
     * prompt, end the chat. Signal handlers call {@link #interrupt}, and so can tests.
     */
    static final class Interrupts {
        private final AtomicBoolean answering = new AtomicBoolean();
        private final AtomicBoolean cancelled = new AtomicBoolean();

        /** Stops the answer being written and returns true, or returns false when none is (the prompt shows). */
        boolean interrupt() {
            if (answering.get()) {
                cancelled.set(true);
                return true;
            }
            return false;
        }

        boolean cancelled() {
            return cancelled.get();
        }

        private void beginAnswer() {
            cancelled.set(false);
            answering.set(true);
        }

        private void endAnswer() {
            answering.set(false);
        }
    }

    @Override
    public Integer call() throws Exception {
        Sampling options = sampling.toOptions(maxNewTokens);
        PrintWriter out = spec.commandLine().getOut();
        Interrupts interrupts = new Interrupts();
        try (LoadedTextModel local = LoadedTextModel.open(model, adapter, 1, Progress.SILENT);
                Input in = openInput(interrupts, out)) {
            TextGenerator generator = local.generator();
            String name = model.getFileName() + (adapter == null ? "" : " + adapter " + adapter.getFileName());
            return converse(in, out, name, interrupts, (history, cancelled) -> {
                int[] prompt = generator.chatIds(
                        history.stream().map(ChatMessage::asMap).toList(), null);
                TextGenerator.Completion answer = generator
                        .generate(
                                List.of(prompt),
                                List.of(options),
                                (sequence, delta) -> {
                                    out.print(delta);
                                    out.flush();
                                },
                                sequence -> cancelled.getAsBoolean())
                        .getFirst();
                out.println();
                if (answer.finishReason().equals("length")) {
                    out.println("(stopped at --max-new-tokens " + maxNewTokens + ")");
                }
                return new Answer(answer.text(), answer.finishReason().equals("abort"));
            });
        }
    }

    /**
     * A terminal gets line editing and history, and Ctrl-C during an answer reaches {@code interrupts}; anything else
     * (a pipe, a file) is read line by line, and Ctrl-C stops an answer or, at the prompt, ends the process.
     */
    private Input openInput(Interrupts interrupts, PrintWriter out) throws IOException {
        java.io.Console console = System.console();
        if (console != null && console.isTerminal()) {
            Terminal terminal = TerminalBuilder.builder().system(true).build();
            terminal.handle(Terminal.Signal.INT, signal -> interrupts.interrupt());
            return TerminalInput.open(terminal, noHistory ? null : defaultHistoryFile());
        }
        Object previous = Signals.register("INT", () -> {
            if (!interrupts.interrupt()) {
                out.println();
                out.flush();
                System.exit(Main.EXIT_OK);
            }
        });
        BufferedReader reader = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        return new Input() {
            @Override
            public String readLine(String prompt) throws IOException {
                out.print(prompt);
                out.flush();
                return reader.readLine();
            }

            @Override
            public void close() {
                Signals.unregister("INT", previous);
            }
        };
    }

    static Path defaultHistoryFile() {
        return Path.of(System.getProperty("user.home"), ".safemerge", "chat_history");
    }

    /** JLine's line editor on {@code terminal}, keeping typed lines in {@code historyFile} (none when null). */
    static final class TerminalInput implements Input {
        private final Terminal terminal;
        private final LineReader reader;

        private TerminalInput(Terminal terminal, LineReader reader) {
            this.terminal = terminal;
            this.reader = reader;
        }

        static TerminalInput open(Terminal terminal, Path historyFile) throws IOException {
            LineReaderBuilder builder = LineReaderBuilder.builder().terminal(terminal);
            if (historyFile != null) {
                Files.createDirectories(historyFile.toAbsolutePath().getParent());
                builder.variable(LineReader.HISTORY_FILE, historyFile);
            }
            return new TerminalInput(terminal, builder.build());
        }

        @Override
        public String readLine(String prompt) {
            try {
                return reader.readLine(prompt);
            } catch (UserInterruptException e) {
                // Ctrl-C: at an empty prompt it ends the chat; with text typed it only discards that text
                return e.getPartialLine().isEmpty() ? null : "";
            } catch (EndOfFileException e) {
                return null;
            }
        }

        @Override
        public void close() throws IOException {
            reader.getHistory().save();
            terminal.close();
        }
    }

    /**
     * The conversation: a banner naming the model, then lines from {@code in}; a line starting with '/' is a command
     * (unknown ones are refused, never sent to the model), any other non-blank line a user turn that {@code answer}
     * replies to (streaming its text itself). An answer stopped by {@link Interrupts#interrupt} is dropped from the
     * conversation together with its question, and the prompt returns.
     */
    int converse(Input in, PrintWriter out, String modelName, Interrupts interrupts, Answerer answer)
            throws IOException {
        out.println("chat with " + modelName + (system == null ? "" : " (system: " + system + ")"));
        out.println("commands: /help, /reset, /exit");
        List<ChatMessage> history = newConversation();
        while (true) {
            String line = in.readLine("> ");
            if (line == null) {
                out.println();
                return Main.EXIT_OK;
            }
            String typed = line.strip();
            if (typed.startsWith("/")) {
                switch (typed) {
                    case "/exit" -> {
                        return Main.EXIT_OK;
                    }
                    case "/reset" -> {
                        history = newConversation();
                        out.println("(new conversation)");
                    }
                    case "/help" -> out.println(HELP);
                    default ->
                        out.println("unknown command " + typed.split("\\s+")[0] + " (not sent); /help lists them");
                }
                continue;
            }
            if (typed.isEmpty()) {
                continue;
            }
            history.add(ChatMessage.user(line));
            Answer reply;
            interrupts.beginAnswer();
            try {
                reply = answer.answer(List.copyOf(history), interrupts::cancelled);
            } finally {
                interrupts.endAnswer();
            }
            if (reply.stopped()) {
                history.removeLast();
                out.println(STOPPED);
            } else {
                history.add(ChatMessage.assistant(reply.text()));
            }
        }
    }

    private List<ChatMessage> newConversation() {
        List<ChatMessage> history = new ArrayList<>();
        if (system != null) {
            history.add(ChatMessage.system(system));
        }
        return history;
    }
}
