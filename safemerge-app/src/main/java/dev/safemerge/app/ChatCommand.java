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
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.function.Function;
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
                    + " lines starting with / are never sent to the model."
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

    @Mixin
    SamplingOptions sampling;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    /** The chat commands; anything else typed is sent to the model, and an unknown /word is not. */
    static final String HELP = """
            /help   this list
            /reset  start a new conversation (keeps --system)
            /exit   quit (also end of input)""";

    @Override
    public Integer call() throws Exception {
        Sampling options = sampling.toOptions(maxNewTokens);
        PrintWriter out = spec.commandLine().getOut();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        try (LoadedTextModel local = LoadedTextModel.open(model, adapter, 1, Progress.SILENT)) {
            TextGenerator generator = local.generator();
            String name = model.getFileName() + (adapter == null ? "" : " + adapter " + adapter.getFileName());
            return converse(in, out, name, history -> {
                int[] prompt = generator.chatIds(
                        history.stream().map(ChatMessage::asMap).toList(), null);
                TextGenerator.Completion answer = generator
                        .generate(List.of(prompt), options, (sequence, delta) -> {
                            out.print(delta);
                            out.flush();
                        })
                        .getFirst();
                out.println();
                if (answer.finishReason().equals("length")) {
                    out.println("(stopped at --max-new-tokens " + maxNewTokens + ")");
                }
                return answer.text();
            });
        }
    }

    /**
     * The conversation: a banner naming the model, then lines from {@code in}; a line starting with '/' is a command
     * (unknown ones are refused, never sent to the model), any other non-blank line a user turn that {@code answer}
     * replies to (streaming its text itself).
     */
    int converse(BufferedReader in, PrintWriter out, String modelName, Function<List<ChatMessage>, String> answer)
            throws IOException {
        out.println("chat with " + modelName + (system == null ? "" : " (system: " + system + ")"));
        out.println("commands: /help, /reset, /exit");
        List<ChatMessage> history = newConversation();
        while (true) {
            out.print("> ");
            out.flush();
            String line = in.readLine();
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
            history.add(ChatMessage.assistant(answer.apply(history)));
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
