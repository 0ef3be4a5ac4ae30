package dev.safemerge.app;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.safemerge.model.text.HfTokenizer;
import dev.safemerge.tensor.BadInputException;
import dev.safemerge.tensor.JsonMappers;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(
        name = "tokenize",
        mixinStandardHelpOptions = true,
        description = "Show the token ids of a text, or of a conversation rendered by the model's chat template "
                + "(as transformers' tokenizer(text) and apply_chat_template do).",
        footer = {
            "",
            "Example:",
            "  safemerge tokenize --model MODEL_DIR \\",
            "      --chat CHAT.json --add-generation-prompt --json"
        })
final class TokenizeCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "DIR", description = "Folder with tokenizer.json.")
    Path model;

    static final class Input {
        @Option(
                names = "--text",
                paramLabel = "TEXT",
                description = "Text to encode, with the tokenizer's special tokens (BOS) added.")
        String text;

        @Option(
                names = "--chat",
                paramLabel = "FILE",
                description = "JSON file: a list of messages ({\"role\", \"content\"}) or {\"messages\": [...], "
                        + "\"tools\": [...]}; rendered by the chat template, encoded without added tokens.")
        Path chat;
    }

    @ArgGroup(multiplicity = "1")
    Input input;

    @Option(names = "--add-generation-prompt", description = "With --chat: end with the assistant's generation prompt.")
    boolean addGenerationPrompt;

    @Option(names = "--json", description = "Print {\"ids\": [...], \"text\": \"...\", \"tokens\": [...]}.")
    boolean json;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        if (addGenerationPrompt && input.chat == null) {
            throw new BadInputException("--add-generation-prompt needs --chat");
        }
        try (HfTokenizer tokenizer = HfTokenizer.load(model)) {
            String text;
            int[] ids;
            if (input.chat != null) {
                Conversation conversation = Conversation.read(input.chat);
                text = tokenizer.renderChat(conversation.messages(), addGenerationPrompt, conversation.tools());
                ids = tokenizer.encode(text, false);
            } else {
                text = input.text;
                ids = tokenizer.encode(text, true);
            }
            PrintWriter out = spec.commandLine().getOut();
            if (json) {
                ObjectMapper mapper = JsonMappers.plain();
                ObjectNode body = mapper.createObjectNode();
                var idArray = body.putArray("ids");
                var tokens = body.putArray("tokens");
                for (int id : ids) {
                    idArray.add(id);
                    tokens.add(tokenizer.decode(new int[] {id}, false));
                }
                body.put("text", text);
                out.println(mapper.writeValueAsString(body));
            } else {
                out.println(text);
                out.println(Arrays.toString(ids));
            }
        }
        return Main.EXIT_OK;
    }

    /** The messages and optional tools of a --chat file. */
    record Conversation(List<Map<String, Object>> messages, List<Map<String, Object>> tools) {
        static Conversation read(Path file) {
            JsonNode root;
            try {
                root = JsonMappers.plain().readTree(Files.readString(file));
            } catch (IOException e) {
                throw new BadInputException("--chat: cannot read " + file + " as JSON: " + e.getMessage(), e);
            }
            JsonNode messages = root != null && root.isObject() ? root.get("messages") : root;
            JsonNode tools = root != null && root.isObject() ? root.get("tools") : null;
            if (messages == null || !messages.isArray() || messages.isEmpty()) {
                throw new BadInputException(
                        "--chat: " + file + " must hold a non-empty list of messages or {\"messages\": [...]}");
            }
            if (tools != null && !tools.isNull() && !tools.isArray()) {
                throw new BadInputException("--chat: \"tools\" in " + file + " must be a list");
            }
            ObjectMapper mapper = JsonMappers.plain();
            for (JsonNode message : messages) {
                if (!message.isObject() || !message.path("role").isTextual()) {
                    throw new BadInputException("--chat: every message in " + file + " needs a \"role\" string");
                }
            }
            return new Conversation(
                    mapper.convertValue(messages, new TypeReference<>() {}),
                    tools == null || tools.isNull() ? null : mapper.convertValue(tools, new TypeReference<>() {}));
        }
    }
}
