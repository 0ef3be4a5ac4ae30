package dev.safemerge.app;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.safemerge.model.generate.Sampling;
import dev.safemerge.model.text.ChatMessage;
import dev.safemerge.model.text.LoadedTextModel;
import dev.safemerge.model.text.TextGenerator;
import dev.safemerge.tensor.BadInputException;
import dev.safemerge.tensor.JsonMappers;
import dev.safemerge.tensor.Progress;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(
        name = "generate",
        mixinStandardHelpOptions = true,
        description = "Continue a prompt (or answer it through the chat template) with a local model.",
        footer = {
            "",
            SamplingOptions.DEFAULTS_NOTE,
            "",
            "Example:",
            "  safemerge generate --model MODEL_DIR \\",
            "      --prompt 'Capital of France?' --chat --max-new-tokens 32"
        })
final class GenerateCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "DIR", description = "HF model directory.")
    Path model;

    @Option(names = "--adapter", paramLabel = "DIR", description = "PEFT LoRA adapter directory to apply.")
    Path adapter;

    @ArgGroup(multiplicity = "1")
    Input input;

    static final class Input {
        @Option(names = "--prompt", paramLabel = "TEXT", description = "Prompt text (BOS added as the tokenizer does).")
        String prompt;

        @Option(
                names = "--ids",
                split = ",",
                paramLabel = "ID",
                description = "Prompt token ids, used exactly as given.")
        List<Integer> ids;
    }

    @Option(names = "--chat", description = "Send --prompt as a user message through the model's chat template.")
    boolean chat;

    @Option(names = "--system", paramLabel = "TEXT", description = "System message (with --chat).")
    String system;

    @Option(names = "--max-new-tokens", required = true, paramLabel = "N", description = "Most tokens to generate.")
    int maxNewTokens;

    @Mixin
    SamplingOptions sampling;

    @Option(names = "--json", description = "Print {\"ids\": [...], \"text\": \"...\"} of the generated part.")
    boolean json;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (chat && input.prompt == null) {
            throw new BadInputException("--chat needs --prompt (token ids bypass the chat template)");
        }
        if (system != null && !chat) {
            throw new BadInputException("--system needs --chat");
        }
        Sampling options = sampling.toOptions(maxNewTokens);
        PrintWriter out = spec.commandLine().getOut();
        try (LoadedTextModel local =
                LoadedTextModel.open(model, adapter, 1, json ? ConsoleProgress.of(spec) : Progress.SILENT)) {
            TextGenerator generator = local.generator();
            int[] prompt;
            if (input.ids != null) {
                prompt = input.ids.stream().mapToInt(Integer::intValue).toArray();
            } else if (chat) {
                List<ChatMessage> messages = new ArrayList<>();
                if (system != null) {
                    messages.add(ChatMessage.system(system));
                }
                messages.add(ChatMessage.user(input.prompt));
                prompt = generator.chatIds(
                        messages.stream().map(ChatMessage::asMap).toList(), null);
            } else {
                prompt = generator.promptIds(input.prompt);
            }
            generator.checkFits(prompt, maxNewTokens, input.ids != null ? "--ids" : "--prompt");
            TextGenerator.TextListener stream = json
                    ? TextGenerator.TextListener.NONE
                    : (sequence, delta) -> {
                        out.print(delta);
                        out.flush();
                    };
            TextGenerator.Completion result =
                    generator.generate(List.of(prompt), options, stream).getFirst();
            if (json) {
                ObjectMapper mapper = JsonMappers.plain();
                ObjectNode body = mapper.createObjectNode();
                var ids = body.putArray("ids");
                for (int id : result.tokenIds()) {
                    ids.add(id);
                }
                body.put("text", result.text());
                out.println(mapper.writeValueAsString(body));
            } else {
                out.println();
            }
        }
        return Main.EXIT_OK;
    }
}
