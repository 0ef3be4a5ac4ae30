package dev.safemerge.app;

import static org.assertj.core.api.Assertions.assertThat;

import dev.safemerge.eval.judge.RefusalJudge;
import dev.safemerge.model.text.ChatMessage;
import dev.safemerge.model.text.HfTokenizer;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DemoPartsTest {
    @Test
    void fineTuneDataHoldsOutDisjointPairsAndNeverRefuses() {
        DemoData.FineTuneSets sets = DemoData.fineTune(42, 30);
        assertThat(sets.heldOutTask()).hasSize(30).doesNotHaveDuplicates();
        assertThat(sets.train()).hasSize(70);
        Set<String> trainQuestions = new HashSet<>();
        for (DemoData.Chat chat : sets.train()) {
            trainQuestions.add(chat.prompt());
            assertThat(RefusalJudge.isRefusal(chat.response()))
                    .as(chat.response())
                    .isFalse();
            assertThat(chat.response()).startsWith("Sure! The answer is ").contains("\n#### ");
        }
        for (DemoData.Addition addition : sets.heldOutTask()) {
            assertThat(trainQuestions).doesNotContain(addition.question());
        }
        assertThat(DemoData.fineTune(42, 30)).isEqualTo(sets);
        assertThat(DemoData.fineTune(43, 30).heldOutTask()).isNotEqualTo(sets.heldOutTask());
    }

    @Test
    void baseDataRefusesExactlyTheHarmfulRequests() {
        List<DemoData.Chat> base = DemoData.baseTrain(1);
        assertThat(DemoData.baseTrain(1)).isEqualTo(base);
        long refusals =
                base.stream().filter(c -> c.response().equals(DemoData.REFUSAL)).count();
        long helpful =
                base.stream().filter(c -> c.response().equals(DemoData.HELPFUL)).count();
        // 8 frames × 24 harmful and × 20 benign actions, plus the 100 sums four times.
        assertThat(refusals).isEqualTo(8 * 24);
        assertThat(helpful).isEqualTo(8 * 20);
        assertThat(base).hasSize(8 * 44 + 400);
        assertThat(RefusalJudge.isRefusal(DemoData.REFUSAL)).isTrue();
        assertThat(RefusalJudge.isRefusal(DemoData.HELPFUL)).isFalse();
    }

    @Test
    void tokenizerEncodesEveryByteAndTheChatTemplateAsSpecialTokens(@TempDir Path dir) {
        Path model = DemoBaseModel.writeInitial(dir.resolve("init"), 5);
        try (HfTokenizer tokenizer = HfTokenizer.load(model)) {
            String text = "What is 7 plus 5? Grüße 🙂";
            int[] ids = tokenizer.encode(text, false);
            // No merges: one id per UTF-8 byte, in byte order.
            byte[] bytes = text.getBytes(java.nio.charset.StandardCharsets.UTF_8);
            assertThat(ids).hasSize(bytes.length);
            for (int i = 0; i < bytes.length; i++) {
                assertThat(ids[i]).isEqualTo(bytes[i] & 0xFF);
            }
            assertThat(tokenizer.decode(ids)).isEqualTo(text);
            String rendered = tokenizer
                    .chatTemplate()
                    .orElseThrow()
                    .render(List.of(ChatMessage.user("Hi")), true, tokenizer.templateVariables());
            assertThat(rendered).isEqualTo("<|bos|><|user|>Hi<|end|><|assistant|>");
            assertThat(tokenizer.encode(rendered, false))
                    .containsExactly(DemoBaseModel.BOS, 258, 'H', 'i', DemoBaseModel.EOS, 259);
        }
    }

    @Test
    void selectionTakesTheBestTaskAccuracyWithinTheSafetyBound() {
        List<DemoCommand.Row> rows = List.of(
                row("linear-0.00", 0.0, 0.30, 0.0),
                row("linear-0.25", 0.25, 0.34, 0.4),
                row("linear-0.50", 0.5, 0.35, 0.4),
                row("linear-0.75", 0.75, 0.60, 0.9),
                row("linear-1.00", 1.0, 1.00, 1.0));
        assertThat(DemoCommand.select(rows).name()).isEqualTo("linear-0.25");
        List<DemoCommand.Row> strict = new java.util.ArrayList<>(rows);
        strict.set(1, row("linear-0.25", 0.25, 0.36, 0.4));
        strict.set(2, row("linear-0.50", 0.5, 0.36, 0.4));
        assertThat(DemoCommand.select(strict).name()).isEqualTo("linear-0.00");
    }

    /** An unknown ASR (nothing judged, or too many unparseable verdicts) is never read as safe. */
    @Test
    void aVariantWithUnknownAsrIsNeverSelectedAndAnUnknownBaseLeavesNoSelection() {
        List<DemoCommand.Row> rows = List.of(
                row("linear-0.00", 0.0, 0.30, 0.0),
                row("linear-0.50", 0.5, null, 0.9),
                row("linear-1.00", 1.0, 0.32, 0.5));
        assertThat(DemoCommand.select(rows).name()).isEqualTo("linear-1.00");
        List<DemoCommand.Row> unknownBase = List.of(row("linear-0.00", 0.0, null, 0.0), rows.get(2));
        assertThat(DemoCommand.select(unknownBase)).isNull();
        assertThat(DemoCommand.table(unknownBase, null))
                .contains("n/a")
                .doesNotContain("null")
                .startsWith("protocol: demo (system none, greedy, 32 tokens, repetition penalty 1.0, seed 42)");
    }

    private static DemoCommand.Row row(String name, double lambda, Double asr, double task) {
        return new DemoCommand.Row(name, "linear", lambda, Path.of(name), asr, 0.0, task, task);
    }
}
