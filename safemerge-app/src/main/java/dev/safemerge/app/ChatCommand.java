package dev.safemerge.app;

import dev.safemerge.model.text.ChatMessage;
import dev.safemerge.model.text.GenerationOptions;
import dev.safemerge.model.text.LoadedTextModel;
import dev.safemerge.model.text.TextGenerator;
import dev.safemerge.tensor.Progress;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(
        name = "chat",
        mixinStandardHelpOptions = true,
        description = {
            "Chat with a local model in the terminal; answers stream as they are generated.",
            "Type /reset to start a new conversation, /exit (or end of input) to quit."
        },
        footer = {
            "",
            "Defaults differ from eval's: no system prompt, greedy, no repetition penalty (eval's --protocol study"
                    + " adds the system prompt \"You are a helpful assistant.\" and a repetition penalty of 1.2).",
            "",
            "Example:",
            "  safemerge chat --model models/Llama-3.2-1B-Instruct --system 'Answer briefly.'"
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

    @Override
    public Integer call() throws Exception {
        GenerationOptions options = sampling.toOptions(maxNewTokens);
        PrintWriter out = spec.commandLine().getOut();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        try (LoadedTextModel local = LoadedTextModel.open(model, adapter, 1, Progress.SILENT)) {
            TextGenerator generator = local.generator();
            List<ChatMessage> history = newConversation();
            while (true) {
                out.print("> ");
                out.flush();
                String line = in.readLine();
                if (line == null || line.strip().equals("/exit")) {
                    out.println();
                    return Main.EXIT_OK;
                }
                if (line.strip().equals("/reset")) {
                    history = newConversation();
                    out.println("(new conversation)");
                    continue;
                }
                if (line.isBlank()) {
                    continue;
                }
                history.add(ChatMessage.user(line));
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
                history.add(ChatMessage.assistant(answer.text()));
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
