package dev.safemerge.model.text;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.core.type.TypeReference;
import dev.safemerge.tensor.JsonMappers;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Every case of chat_template_golden.json (written by src/test/python/chat_template_golden.py with Python jinja2
 * and Hugging Face's settings) renders byte-for-byte the same, or raises the same template error.
 */
class ChatTemplateGoldenTest {
    static final Clock GOLDEN_CLOCK =
            Clock.fixed(LocalDateTime.of(2025, 3, 14, 9, 26, 53).toInstant(ZoneOffset.UTC), ZoneOffset.UTC);

    static List<Map<String, Object>> goldenCases() {
        try (InputStream in = ChatTemplateGoldenTest.class.getResourceAsStream("chat_template_golden.json")) {
            return JsonMappers.plain().readValue(in, new TypeReference<>() {});
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String templateSource(String file) {
        try (InputStream in = ChatTemplateGoldenTest.class.getResourceAsStream("templates/" + file)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @TestFactory
    Stream<DynamicTest> rendersLikeJinja2() {
        Map<String, ChatTemplate> templates = new HashMap<>();
        return goldenCases().stream()
                .map(c -> DynamicTest.dynamicTest(c.get("template") + " / " + c.get("case"), () -> {
                    ChatTemplate template = templates.computeIfAbsent(
                            (String) c.get("file"),
                            f -> ChatTemplate.of(templateSource(f)).withClock(GOLDEN_CLOCK));
                    Map<String, Object> variables = new HashMap<>();
                    variables.put("bos_token", c.get("bos_token"));
                    variables.put("eos_token", c.get("eos_token"));
                    @SuppressWarnings("unchecked")
                    List<Map<String, Object>> messages = (List<Map<String, Object>>) c.get("messages");
                    @SuppressWarnings("unchecked")
                    List<Map<String, Object>> tools = (List<Map<String, Object>>) c.get("tools");
                    boolean generationPrompt = (Boolean) c.get("add_generation_prompt");
                    if (c.containsKey("error")) {
                        assertThatThrownBy(() -> template.render(messages, generationPrompt, tools, variables))
                                .isInstanceOf(ChatTemplateException.class)
                                .hasMessage("chat template: " + c.get("error"));
                    } else {
                        assertThat(template.render(messages, generationPrompt, tools, variables))
                                .isEqualTo(c.get("expected"));
                    }
                }));
    }
}
