package dev.safemerge.eval.gen;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.safemerge.eval.run.Protocol;
import dev.safemerge.model.generate.Sampling;
import dev.safemerge.model.text.ChatMessage;
import dev.safemerge.model.text.ChatTemplate;
import dev.safemerge.model.text.ChatTemplateException;
import dev.safemerge.model.text.HfTokenizer;
import dev.safemerge.model.text.TextGenerator;
import dev.safemerge.model.text.TokenGenerator;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InProcessGeneratorTest {
    /** Answers "Echo:" + the decoded prompt, then EOS; records every prompt and the options it got. */
    static final class EchoTokens implements TokenGenerator {
        final HfTokenizer tokenizer;
        final List<String> prompts = new ArrayList<>();
        final List<Integer> batches = new ArrayList<>();
        Sampling lastOptions;

        EchoTokens(HfTokenizer tokenizer) {
            this.tokenizer = tokenizer;
        }

        @Override
        public int maxBatch() {
            return 2;
        }

        @Override
        public int contextLength() {
            return Integer.MAX_VALUE;
        }

        @Override
        public List<TokenOutput> generate(List<int[]> batch, Sampling options, TokenListener listener) {
            batches.add(batch.size());
            lastOptions = options;
            List<TokenOutput> out = new ArrayList<>();
            for (int s = 0; s < batch.size(); s++) {
                String prompt = tokenizer.decode(batch.get(s), false);
                prompts.add(prompt);
                int[] text = tokenizer.encode("Echo:" + prompt.replace("<|bos|>", ""), false);
                int[] ids = Arrays.copyOf(text, text.length + 1);
                ids[text.length] = tokenizer.eosTokenIds().iterator().next();
                int produced = 0;
                for (int id : ids) {
                    produced++;
                    if (!listener.accept(s, id) || produced >= options.maxNewTokens()) {
                        break;
                    }
                }
                out.add(new TokenOutput(Arrays.copyOf(ids, produced), "stop", batch.get(s).length));
            }
            return out;
        }
    }

    @Test
    void chatGoesThroughTheModelsTemplateAndBatchesFollowTheEngine() throws Exception {
        Path tiny = Path.of(getClass().getResource("/dev/safemerge/eval/tiny").toURI());
        try (HfTokenizer tokenizer = HfTokenizer.load(tiny)) {
            EchoTokens tokens = new EchoTokens(tokenizer);
            InProcessGenerator generator =
                    new InProcessGenerator(new TextGenerator(tokenizer, tokens), "sha256:x", "tiny", null);
            List<GenerationRequest> requests = List.of(
                    new GenerationRequest.Chat(List.of(ChatMessage.system("be brief"), ChatMessage.user("hello"))),
                    new GenerationRequest.Raw("the cat"),
                    new GenerationRequest.Chat(List.of(ChatMessage.user("one"))),
                    new GenerationRequest.Chat(List.of(ChatMessage.user("two"))),
                    new GenerationRequest.Raw("dog"));
            List<Integer> order = new ArrayList<>();
            List<String> out = new ArrayList<>(List.of("", "", "", "", ""));
            generator.generate(requests, Protocol.STUDY_SAMPLING, (i, r) -> {
                order.add(i);
                out.set(i, r);
            });
            assertThat(tokens.prompts.getFirst())
                    .isEqualTo("<|bos|><|system|>be brief<|end|><|user|>hello<|end|><|assistant|>");
            assertThat(out.getFirst())
                    .as("special tokens are not part of the text")
                    .isEqualTo("Echo:be briefhello");
            assertThat(out.get(1)).isEqualTo("Echo:the cat");
            assertThat(tokens.batches).containsExactly(2, 2, 1);
            assertThat(order).containsExactly(0, 1, 2, 3, 4);
            assertThat(tokens.lastOptions.repetitionPenalty()).isEqualTo(1.2);
            assertThat(tokens.lastOptions.maxNewTokens()).isEqualTo(512);
            assertThat(generator.modelIdentity()).isEqualTo("in-process sha256:x");

            List<String> stopped = generator.generateAll(
                    List.of(new GenerationRequest.Raw("the cat")), Protocol.STUDY_SAMPLING.withStop(List.of("cat")));
            assertThat(stopped).containsExactly("Echo:the ");
        }
    }

    @Test
    void aChatTemplateOverrideRendersTheConversationsInsteadOfTheModelsTemplate(@TempDir Path dir) throws Exception {
        Path tiny = Path.of(getClass().getResource("/dev/safemerge/eval/tiny").toURI());
        ChatTemplate override = ChatTemplate.of(
                "{% for m in messages %}[{{ m.role | upper }}] {{ m.content }}\n{% endfor %}ANSWER:",
                "prompt version t:1");
        try (HfTokenizer tokenizer = HfTokenizer.load(tiny, override)) {
            EchoTokens tokens = new EchoTokens(tokenizer);
            InProcessGenerator generator =
                    new InProcessGenerator(new TextGenerator(tokenizer, tokens), "sha256:x", "tiny", null);
            generator.generateAll(
                    List.of(new GenerationRequest.Chat(
                            List.of(ChatMessage.system("be brief"), ChatMessage.user("hello")))),
                    Protocol.STUDY_SAMPLING);
            // the ids the engine got are those of the override's text, not of the model's <|system|>... template
            assertThat(tokens.prompts).containsExactly("[SYSTEM] be brief\n[USER] hello\nANSWER:");
        }
        ChatTemplate failing = ChatTemplate.of("{{ messages | no_such_filter }}", "prompt version t:2");
        try (HfTokenizer tokenizer = HfTokenizer.load(tiny, failing)) {
            assertThatThrownBy(() ->
                            tokenizer.renderChat(List.of(ChatMessage.user("hi").asMap()), true, null))
                    .isInstanceOf(ChatTemplateException.class)
                    .hasMessage("prompt version t:2: no filter named 'no_such_filter'");
        }
        Files.writeString(dir.resolve("config.json"), "{}");
        assertThat(ModelFingerprint.of(dir, null, override.source()))
                .as("answers made with another template are not reused")
                .isNotEqualTo(ModelFingerprint.of(dir, null))
                .isNotEqualTo(ModelFingerprint.of(dir, null, failing.source()));
    }

    @Test
    void fingerprintsFollowContentNotShape(@TempDir Path dir) throws Exception {
        Path a = Files.createDirectories(dir.resolve("a"));
        Path b = Files.createDirectories(dir.resolve("b"));
        for (Path d : List.of(a, b)) {
            Files.writeString(d.resolve("config.json"), "{\"hidden_size\": 8}");
            Files.write(d.resolve("model.safetensors"), new byte[] {1, 2, 3, 4});
        }
        assertThat(ModelFingerprint.of(a, null)).isEqualTo(ModelFingerprint.of(b, null));
        Files.write(b.resolve("model.safetensors"), new byte[] {1, 2, 3, 5});
        assertThat(ModelFingerprint.of(a, null)).isNotEqualTo(ModelFingerprint.of(b, null));
        assertThat(ModelFingerprint.of(a, a)).isNotEqualTo(ModelFingerprint.of(a, null));
        Files.writeString(a.resolve("SHA256SUMS"), "abc  model.safetensors\n");
        String withSums = ModelFingerprint.of(a, null);
        Files.write(a.resolve("model.safetensors"), new byte[] {9});
        assertThat(ModelFingerprint.of(a, null))
                .as("SHA256SUMS stands for the files")
                .isEqualTo(withSums);
    }
}
