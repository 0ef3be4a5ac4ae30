package dev.safemerge.eval.gen;

import static org.assertj.core.api.Assertions.assertThat;

import dev.safemerge.model.text.ChatMessage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GenerationCacheTest {
    /** Answers "r:" + prompt and records every request it was asked to generate. */
    static final class CountingGenerator implements ResponseGenerator {
        final List<String> generated = Collections.synchronizedList(new ArrayList<>());

        @Override
        public String modelIdentity() {
            return "counting-model";
        }

        @Override
        public String describe() {
            return "counting";
        }

        @Override
        public void generate(List<GenerationRequest> requests, SamplingParams params, ResponseSink sink) {
            for (int i = 0; i < requests.size(); i++) {
                String prompt = ((GenerationRequest.Raw) requests.get(i)).prompt();
                generated.add(prompt);
                sink.accept(i, "r:" + prompt);
            }
        }
    }

    private static List<GenerationRequest> raw(String... prompts) {
        List<GenerationRequest> out = new ArrayList<>();
        for (String p : prompts) {
            out.add(new GenerationRequest.Raw(p));
        }
        return out;
    }

    @Test
    void repeatedRequestsAreAnsweredFromTheFileAfterReopening(@TempDir Path dir) {
        Path file = dir.resolve("cache.jsonl");
        CountingGenerator backend = new CountingGenerator();
        try (GenerationCache cache = GenerationCache.open(file)) {
            List<String> out =
                    new CachedGenerator(backend, cache).generateAll(raw("a", "b", "a"), SamplingParams.STUDY);
            assertThat(out).containsExactly("r:a", "r:b", "r:a");
        }
        assertThat(backend.generated).containsExactly("a", "b");
        try (GenerationCache cache = GenerationCache.open(file)) {
            assertThat(cache.size()).isEqualTo(2);
            List<String> out = new CachedGenerator(backend, cache).generateAll(raw("b", "c"), SamplingParams.STUDY);
            assertThat(out).containsExactly("r:b", "r:c");
        }
        assertThat(backend.generated).containsExactly("a", "b", "c");
    }

    @Test
    void keysDependOnModelRequestAndSampling() {
        GenerationRequest a = new GenerationRequest.Raw("a");
        String key = GenerationCache.key("m", a, SamplingParams.STUDY);
        assertThat(GenerationCache.key("m", a, SamplingParams.STUDY)).isEqualTo(key);
        assertThat(GenerationCache.key("m2", a, SamplingParams.STUDY)).isNotEqualTo(key);
        assertThat(GenerationCache.key("m", new GenerationRequest.Raw("b"), SamplingParams.STUDY))
                .isNotEqualTo(key);
        assertThat(GenerationCache.key("m", a, SamplingParams.STUDY.withMaxNewTokens(10)))
                .isNotEqualTo(key);
        assertThat(GenerationCache.key(
                        "m", new GenerationRequest.Chat(List.of(ChatMessage.user("a"))), SamplingParams.STUDY))
                .isNotEqualTo(key);
    }

    @Test
    void aTornLastRecordIsDroppedAndTheFileStaysAppendable(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("cache.jsonl");
        CountingGenerator backend = new CountingGenerator();
        try (GenerationCache cache = GenerationCache.open(file)) {
            new CachedGenerator(backend, cache).generateAll(raw("a"), SamplingParams.STUDY);
        }
        Files.writeString(file, "{\"key\":\"abc\",\"resp", StandardCharsets.UTF_8, StandardOpenOption.APPEND);
        try (GenerationCache cache = GenerationCache.open(file)) {
            assertThat(cache.size()).isEqualTo(1);
            new CachedGenerator(backend, cache).generateAll(raw("b"), SamplingParams.STUDY);
        }
        assertThat(Files.readAllLines(file)).hasSize(2).allMatch(line -> line.startsWith("{\"key\""));
        try (GenerationCache cache = GenerationCache.open(file)) {
            assertThat(cache.size()).isEqualTo(2);
        }
    }

    @Test
    void aRunThatAnswersNothingLeavesNothingBehind(@TempDir Path dir) {
        Path out = dir.resolve("results");
        try (GenerationCache cache = GenerationCache.open(out.resolve("generation-cache.jsonl"))) {
            assertThat(cache.size()).isZero();
        }
        assertThat(out).doesNotExist();
    }

    @Test
    void anOutputThatIsAFileIsBadInputNamingIt(@TempDir Path dir) throws Exception {
        Path file = Files.writeString(dir.resolve("results"), "not a folder");
        org.assertj.core.api.Assertions.assertThatThrownBy(
                        () -> GenerationCache.open(file.resolve("generation-cache.jsonl")))
                .isInstanceOf(dev.safemerge.tensor.BadInputException.class)
                .hasMessageContaining(file.toString());
    }
}
