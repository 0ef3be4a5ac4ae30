package dev.safemerge.model.text;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.core.type.TypeReference;
import dev.safemerge.tensor.BadInputException;
import dev.safemerge.tensor.JsonMappers;
import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/** Token ids and decoded text against @lenml/tokenizers (src/test/node/tokenizer_golden.mjs). */
class HfTokenizerTest {
    private static final Map<String, HfTokenizer> LOADED = new HashMap<>();

    static Path tinyDir() {
        try {
            return Path.of(HfTokenizerTest.class
                            .getResource("tiny/tokenizer.json")
                            .toURI())
                    .getParent();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static HfTokenizer tokenizer(String name) throws IOException, InterruptedException {
        HfTokenizer loaded = LOADED.get(name);
        if (loaded == null) {
            loaded = HfTokenizer.load(name.equals("tiny") ? tinyDir() : NpmTokenizers.modelDir(name));
            LOADED.put(name, loaded);
        }
        return loaded;
    }

    @AfterAll
    static void closeAll() {
        LOADED.values().forEach(HfTokenizer::close);
        LOADED.clear();
    }

    static List<Map<String, Object>> golden() throws IOException {
        try (InputStream in = HfTokenizerTest.class.getResourceAsStream("tokenizer_golden.json")) {
            return JsonMappers.plain().readValue(in, new TypeReference<>() {});
        }
    }

    @TestFactory
    Stream<DynamicTest> idsAndTextMatchTheJavaScriptTokenizer() throws IOException {
        return golden().stream()
                .map(c -> DynamicTest.dynamicTest(
                        c.get("tokenizer") + " " + (Boolean) c.get("add_special_tokens") + " " + c.get("text"), () -> {
                            HfTokenizer tokenizer = tokenizer((String) c.get("tokenizer"));
                            String text = (String) c.get("text");
                            @SuppressWarnings("unchecked")
                            int[] expected = ((List<Integer>) c.get("ids"))
                                    .stream().mapToInt(Integer::intValue).toArray();
                            int[] ids = tokenizer.encode(text, (Boolean) c.get("add_special_tokens"));
                            assertThat(ids).containsExactly(expected);
                            assertThat(tokenizer.decode(ids, false)).isEqualTo(c.get("decoded"));
                            assertThat(tokenizer.decode(ids, true)).isEqualTo(c.get("decoded_skip_special"));
                            assertThat(streamed(tokenizer, ids)).isEqualTo(tokenizer.decodeWithoutCleanUp(ids, true));
                        }));
    }

    /** Concatenated streaming deltas (no context) must equal one decode of all ids. */
    static String streamed(HfTokenizer tokenizer, int[] ids) {
        StreamingDecoder decoder = new StreamingDecoder(tokenizer, new int[0], true);
        StringBuilder text = new StringBuilder();
        for (int id : ids) {
            String delta = decoder.add(id);
            assertThat(delta).doesNotContain("\uFFFD");
            text.append(delta);
        }
        return text.append(decoder.flush()).toString();
    }

    @Test
    void specialTokensComeFromTheConfigFiles() throws Exception {
        HfTokenizer tiny = tokenizer("tiny");
        assertThat(tiny.bosToken()).hasValue("<|bos|>");
        assertThat(tiny.eosToken()).hasValue("<|end|>");
        assertThat(tiny.eosTokenIds()).containsExactly(557);
        assertThat(tiny.addedTokenId("<|assistant|>")).hasValue(560);
        assertThat(tiny.isSpecial(560)).isTrue();
        assertThat(tiny.isSpecial(562)).isFalse();
        assertThat(tiny.vocabSize()).isEqualTo(563);
        assertThat(tiny.chatTemplate()).isPresent();
        assertThat(tiny.encode("Hi")[0]).isEqualTo(556);
        assertThat(tiny.encode("Hi", false)[0]).isNotEqualTo(556);
    }

    @Test
    void trainingViewEncodesWithoutSpecialTokensAndRendersTheTemplate() throws Exception {
        var training = tokenizer("tiny").forTraining();
        assertThat(training.encode("Hi")).containsExactly(tokenizer("tiny").encode("Hi", false));
        assertThat(training.bosId()).hasValue(556);
        assertThat(training.eosId()).hasValue(557);
        assertThat(training.hasChatTemplate()).isTrue();
        assertThat(training.renderChat(List.of(new dev.safemerge.model.text.ChatMessage("user", " Hi ")), true))
                .isEqualTo("<|bos|><|user|>Hi<|end|><|assistant|>");
    }

    @Test
    void idsWithoutATokenDecodeToNothingAsTokenizersDecodeSkipsThem() throws Exception {
        // a model's embedding padded past the tokenizer can sample such an id; Python's tokenizers drops it
        HfTokenizer tiny = tokenizer("tiny");
        int[] hello = tiny.encode("Hello world", false);
        int padded = tiny.vocabSize();
        int[] withPadding = new int[hello.length + 2];
        withPadding[0] = padded;
        System.arraycopy(hello, 0, withPadding, 1, hello.length);
        withPadding[hello.length + 1] = padded + 7;
        assertThat(tiny.decode(withPadding)).isEqualTo(tiny.decode(hello)).isNotEmpty();
        assertThat(tiny.decode(new int[] {padded})).isEmpty();
        assertThatThrownBy(() -> tiny.decode(new int[] {-1}))
                .isInstanceOf(BadInputException.class)
                .hasMessageContaining("-1");
    }

    @Test
    void longInputsAreNeverTruncated() throws Exception {
        HfTokenizer tiny = tokenizer("tiny");
        String text = "The quick brown fox jumps over the lazy dog. ".repeat(200);
        int[] ids = tiny.encode(text, false);
        assertThat(ids.length).isGreaterThan(1500);
        assertThat(tiny.decode(ids)).isEqualTo(text);
    }

    @Test
    void splitMultiByteCharactersAreHeldBackUntilComplete() throws Exception {
        HfTokenizer tiny = tokenizer("tiny");
        int[] ids = tiny.encode("a🚀b", false);
        assertThat(ids.length).isGreaterThan(3); // the emoji is split into byte tokens
        StreamingDecoder decoder = new StreamingDecoder(tiny, new int[0], true);
        StringBuilder emitted = new StringBuilder();
        for (int id : ids) {
            emitted.append(decoder.add(id));
            assertThat(emitted.toString()).isIn("", "a", "a🚀", "a🚀b");
        }
        assertThat(emitted.toString()).isEqualTo("a🚀b");
    }

    @Test
    void contextGivesTheFirstTokenItsLeadingSpace() throws Exception {
        HfTokenizer tiny = tokenizer("tiny");
        int[] prompt = tiny.encode("The capital", false);
        int[] generated = tiny.encode(" is Paris.", false);
        StreamingDecoder decoder = new StreamingDecoder(tiny, prompt, true);
        StringBuilder text = new StringBuilder();
        for (int id : generated) {
            text.append(decoder.add(id));
        }
        assertThat(text.append(decoder.flush()).toString()).isEqualTo(" is Paris.");
    }

    @Test
    void missingTokenizerJsonIsBadInput(@org.junit.jupiter.api.io.TempDir Path dir) {
        assertThatThrownBy(() -> HfTokenizer.load(dir))
                .isInstanceOf(BadInputException.class)
                .hasMessageContaining("tokenizer.json");
    }

    @Test
    void decodeCleansUpSpacesWhereTheConfigAsksButStreamingDoesNot() throws Exception {
        HfTokenizer llama = tokenizer("llama3_1"); // clean_up_tokenization_spaces: true
        int[] ids = llama.encode("It 's fine , is it not ?", false);
        assertThat(llama.decode(ids)).isEqualTo("It's fine, is it not?");
        assertThat(llama.decodeWithoutCleanUp(ids, true)).isEqualTo("It 's fine , is it not ?");
        assertThat(streamed(llama, ids)).isEqualTo("It 's fine , is it not ?");
        HfTokenizer qwen = tokenizer("qwen3"); // clean_up_tokenization_spaces: false
        assertThat(qwen.decode(qwen.encode("Hello , world", false))).isEqualTo("Hello , world");
    }

    @Test
    void realTokenizersKnowTheirEndOfTurnTokens() throws Exception {
        assertThat(tokenizer("llama3_1").eosTokenIds()).containsExactly(128009);
        assertThat(tokenizer("qwen3").eosTokenIds()).containsExactly(151645);
        assertThat(tokenizer("llama3_1").encode("Hi")[0]).isEqualTo(128000);
        assertThat(tokenizer("qwen3").encode("Hi")).hasSize(1);
    }
}
