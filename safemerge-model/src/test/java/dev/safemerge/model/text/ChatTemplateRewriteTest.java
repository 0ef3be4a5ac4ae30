package dev.safemerge.model.text;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ChatTemplateRewriteTest {
    @Test
    void namespaceValuesAreParenthesizedOutsideQuotesAndNestedCalls() {
        assertThat(ChatTemplate.rewrite("{% set ns = namespace(i=n - 1, s='a,)b', f(x, y), t=[1, 2]) %}"))
                .isEqualTo("{% set ns = namespace(i=(n - 1), s=('a,)b'), f(x, y), t=([1, 2])) %}");
    }

    @Test
    void unbalancedNamespaceCallIsLeftAlone() {
        assertThat(ChatTemplate.rewrite("namespace(a=1]")).isEqualTo("namespace(a=1]");
        assertThat(ChatTemplate.rewrite("namespace(s='x\\')', a=1)")).isEqualTo("namespace(s=('x\\')'), a=(1))");
    }
}
