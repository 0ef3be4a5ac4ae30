package dev.safemerge.model.text;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.safemerge.model.generate.Sampling;
import dev.safemerge.tensor.BadInputException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class TextGeneratorTest {
    static HfTokenizer tokenizer;

    @BeforeAll
    static void load() {
        tokenizer = HfTokenizer.load(HfTokenizerTest.tinyDir());
    }

    @AfterAll
    static void close() {
        tokenizer.close();
    }

    static TextGenerator generator(String answer, int maxBatch) {
        return new TextGenerator(tokenizer, new ScriptedTokenGenerator(tokenizer, prompt -> answer, maxBatch));
    }

    @Test
    void completesAllPromptsInOneEngineCall() {
        ScriptedTokenGenerator tokens =
                new ScriptedTokenGenerator(tokenizer, prompt -> "Echo:" + prompt.replace("<|bos|>", ""), 2);
        TextGenerator generator = new TextGenerator(tokenizer, tokens);
        List<TextGenerator.Completion> results =
                generator.complete(List.of("one", "two", "three"), Sampling.greedy(50));
        assertThat(results)
                .extracting(TextGenerator.Completion::text)
                .containsExactly("Echo:one", "Echo:two", "Echo:three");
        assertThat(results).extracting(TextGenerator.Completion::finishReason).containsOnly("stop");
        assertThat(tokens.batchSizes()).containsExactly(3);
        assertThat(results.getFirst().promptTokens()).isEqualTo(generator.promptIds("one").length);
        // the EOS token is counted, the text is decoded without it
        assertThat(results.getFirst().completionTokens()).isEqualTo(tokenizer.encode("Echo:one", false).length + 1);
    }

    @Test
    void stopStringEndsGenerationAndIsCutFromTheText() {
        TextGenerator generator = generator("The capital of France is Paris. The dog sleeps.", 4);
        Sampling options = Sampling.greedy(100).withStop(List.of("Paris", "dog"));
        List<String> deltas = new ArrayList<>();
        TextGenerator.Completion result = generator
                .generate(List.of(generator.promptIds("Q")), options, (seq, delta) -> deltas.add(delta))
                .getFirst();
        assertThat(result.text()).isEqualTo("The capital of France is ");
        assertThat(result.finishReason()).isEqualTo("stop");
        assertThat(String.join("", deltas)).isEqualTo(result.text());
        // generation stopped right after the stop string, not at the end of the script
        assertThat(result.completionTokens())
                .isLessThan(tokenizer.encode("The capital of France is Paris. The", false).length + 1);
    }

    @Test
    void stopStringSplitAcrossTokensIsFoundAndNeverStreamed() {
        TextGenerator generator = generator("abcdefghij", 1);
        List<String> deltas = new ArrayList<>();
        TextGenerator.Completion result = generator
                .generate(
                        List.of(generator.promptIds("Q")),
                        Sampling.greedy(100).withStop(List.of("efg")),
                        (seq, delta) -> deltas.add(delta))
                .getFirst();
        assertThat(result.text()).isEqualTo("abcd");
        assertThat(String.join("", deltas)).isEqualTo("abcd");
    }

    @Test
    void maxNewTokensLimitsEachSequenceAndReportsLength() {
        TextGenerator generator = generator("The quick brown fox jumps over the lazy dog.", 4);
        int[] prompt = generator.promptIds("Q");
        List<TextGenerator.Completion> results = generator.generate(
                List.of(prompt, prompt),
                List.of(Sampling.greedy(3), Sampling.greedy(5)),
                TextGenerator.TextListener.NONE);
        assertThat(results.get(0).completionTokens()).isEqualTo(3);
        assertThat(results.get(1).completionTokens()).isEqualTo(5);
        assertThat(results).extracting(TextGenerator.Completion::finishReason).containsOnly("length");
        int[] first3 =
                java.util.Arrays.copyOf(tokenizer.encode("The quick brown fox jumps over the lazy dog.", false), 3);
        assertThat(results.get(0).text()).isEqualTo(tokenizer.decode(first3));
    }

    @Test
    void aCharacterCutByTheTokenLimitEndsTheTextAsReplacementCharacter() {
        int[] answer = tokenizer.encode("ab🚀", false);
        TextGenerator generator = generator("ab🚀", 1);
        List<String> deltas = new ArrayList<>();
        TextGenerator.Completion result = generator
                .generate(
                        List.of(generator.promptIds("Q")),
                        Sampling.greedy(answer.length - 1),
                        (seq, delta) -> deltas.add(delta))
                .getFirst();
        assertThat(result.finishReason()).isEqualTo("length");
        assertThat(result.text()).startsWith("ab").endsWith("\uFFFD").doesNotContain("🚀");
        assertThat(String.join("", deltas)).isEqualTo(result.text());
    }

    @Test
    void streamedDeltasConcatenateToTheTextForEverySequence() {
        TextGenerator generator = generator("Grüße 🙂 你好, world!", 3);
        Map<Integer, StringBuilder> streams = new ConcurrentHashMap<>();
        List<TextGenerator.Completion> results = generator.generate(
                List.of(generator.promptIds("a"), generator.promptIds("b"), generator.promptIds("c")),
                Sampling.greedy(100),
                (seq, delta) -> {
                    assertThat(delta).doesNotContain("\uFFFD");
                    streams.computeIfAbsent(seq, k -> new StringBuilder()).append(delta);
                });
        for (int i = 0; i < 3; i++) {
            assertThat(streams.get(i).toString())
                    .isEqualTo(results.get(i).text())
                    .isEqualTo("Grüße 🙂 你好, world!");
        }
    }

    @Test
    void chatGoesThroughTheTemplateWithoutASecondBos() {
        ScriptedTokenGenerator tokens = new ScriptedTokenGenerator(tokenizer, prompt -> prompt, 1);
        TextGenerator generator = new TextGenerator(tokenizer, tokens);
        String rendered = generator.renderChat(
                List.of(
                        ChatMessage.system("Be brief.").asMap(),
                        ChatMessage.user("Hi").asMap()),
                null);
        assertThat(rendered).isEqualTo("<|bos|><|system|>Be brief.<|end|><|user|>Hi<|end|><|assistant|>");
        int[] ids = generator.chatIds(List.of(ChatMessage.user("Hi").asMap()), null);
        assertThat(java.util.Arrays.stream(ids).filter(id -> id == 556).count()).isEqualTo(1);
        // the scripted model echoes its prompt; special tokens are skipped in the text
        TextGenerator.Completion answer = generator
                .chat(List.of(List.of(ChatMessage.user("Hi"))), Sampling.greedy(100))
                .getFirst();
        assertThat(answer.text()).isEqualTo("Hi");
    }

    @Test
    void badPromptsAreBadInput() {
        TextGenerator generator = generator("x", 1);
        assertThatThrownBy(() -> generator.generate(
                        List.of(new int[] {1, 99999}), Sampling.greedy(3), TextGenerator.TextListener.NONE))
                .isInstanceOf(BadInputException.class)
                .hasMessageContaining("99999");
        assertThatThrownBy(() ->
                        generator.generate(List.of(new int[0]), Sampling.greedy(3), TextGenerator.TextListener.NONE))
                .isInstanceOf(BadInputException.class);
        assertThatThrownBy(() -> Sampling.greedy(3).withStop(List.of(""))).isInstanceOf(BadInputException.class);
        assertThatThrownBy(() -> Sampling.greedy(3).withTemperature(-1)).isInstanceOf(BadInputException.class);
    }
}
