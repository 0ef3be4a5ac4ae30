package dev.safemerge.model.text;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A chat template is untrusted input: its rendering has a time and size budget, and unknown filters are errors. */
class ChatTemplateLimitsTest {
    static final List<Map<String, String>> HELLO = List.of(Map.of("role", "user", "content", "Hi"));

    @Test
    void nestedHugeLoopsStopAtTheTimeBudget() {
        ChatTemplate template = ChatTemplate.of(
                "{% for i in range(100000000) %}{% for j in range(100000000) %}{% for k in range(100000000) %}"
                        + "{% endfor %}{% endfor %}{% endfor %}{{ messages[0].content }}",
                "evil.jinja");
        // the bound only keeps a regression from hanging the build; it is twelve times the budget
        assertTimeoutPreemptively(
                Duration.ofSeconds(60),
                () -> assertThatThrownBy(() -> template.render(HELLO, true, null, Map.of()))
                        .isInstanceOf(ChatTemplateException.class)
                        .hasMessageContaining("evil.jinja")
                        .hasMessageContaining("took longer than " + ChatTemplate.RENDER_TIME_LIMIT.toSeconds() + " s"));
    }

    @Test
    void outputBeyondTheSizeBudgetIsRefused() {
        ChatTemplate template = ChatTemplate.of(
                "{% for i in range(1000) %}{% for j in range(1000) %}{{ messages[0].content * 20 }}"
                        + "{% endfor %}{% endfor %}",
                "big.jinja");
        assertThatThrownBy(() -> template.render(HELLO, true, null, Map.of()))
                .isInstanceOf(ChatTemplateException.class)
                .hasMessageContaining("big.jinja");
    }

    @Test
    void anUnknownFilterIsAnErrorNamingTheTemplateAndTheFilter() {
        ChatTemplate template =
                ChatTemplate.of("{% for m in messages %}{{ m.content | nosuchfilter }}{% endfor %}", "odd.jinja");
        assertThatThrownBy(() -> template.render(HELLO, true, null, Map.of()))
                .isInstanceOf(ChatTemplateException.class)
                .hasMessageContaining("odd.jinja")
                .hasMessageContaining("nosuchfilter");
        assertThat(ChatTemplate.of("{{ messages[0].content | upper }}").render(HELLO, true, null, Map.of()))
                .isEqualTo("HI");
    }
}
