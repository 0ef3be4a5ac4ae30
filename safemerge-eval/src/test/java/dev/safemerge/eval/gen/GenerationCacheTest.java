package dev.safemerge.eval.gen;

import static org.assertj.core.api.Assertions.assertThat;

import dev.safemerge.eval.run.Protocol;
import dev.safemerge.model.generate.Sampling;
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
        public void generate(List<GenerationRequest> requests, Sampling params, ResponseSink sink) {
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
                    new CachedGenerator(backend, cache).generateAll(raw("a", "b", "a"), Protocol.STUDY_SAMPLING);
            assertThat(out).containsExactly("r:a", "r:b", "r:a");
        }
        assertThat(backend.generated).containsExactly("a", "b");
        try (GenerationCache cache = GenerationCache.open(file)) {
            assertThat(cache.size()).isEqualTo(2);
            List<String> out = new CachedGenerator(backend, cache).generateAll(raw("b", "c"), Protocol.STUDY_SAMPLING);
            assertThat(out).containsExactly("r:b", "r:c");
        }
        assertThat(backend.generated).containsExactly("a", "b", "c");
    }

    /** Keys written by earlier releases (computed with them) stay valid, so existing caches keep their answers. */
    @Test
    void keysAreThoseEarlierReleasesWrote() {
        GenerationRequest a = new GenerationRequest.Raw("a");
        assertThat(GenerationCache.key("m", a, Protocol.STUDY_SAMPLING))
                .isEqualTo("872a7a742155aee53228b43adcc5eb5582a4cdc01f996f35f6db1e5258af5a01");
        assertThat(GenerationCache.key(
                        "m",
                        a,
                        Protocol.STUDY_SAMPLING.withStop(List.of("\n\n", "Q:")).withMaxNewTokens(7)))
                .isEqualTo("125c6f09b33421a88a28c1ada442a3024a22c74817d1c17e944a258152a2f615");
    }

    @Test
    void keysDependOnModelRequestAndSampling() {
        GenerationRequest a = new GenerationRequest.Raw("a");
        String key = GenerationCache.key("m", a, Protocol.STUDY_SAMPLING);
        assertThat(GenerationCache.key("m", a, Protocol.STUDY_SAMPLING)).isEqualTo(key);
        assertThat(GenerationCache.key("m2", a, Protocol.STUDY_SAMPLING)).isNotEqualTo(key);
        assertThat(GenerationCache.key("m", new GenerationRequest.Raw("b"), Protocol.STUDY_SAMPLING))
                .isNotEqualTo(key);
        assertThat(GenerationCache.key("m", a, Protocol.STUDY_SAMPLING.withMaxNewTokens(10)))
                .isNotEqualTo(key);
        assertThat(GenerationCache.key(
                        "m", new GenerationRequest.Chat(List.of(ChatMessage.user("a"))), Protocol.STUDY_SAMPLING))
                .isNotEqualTo(key);
    }

    @Test
    void aTornLastRecordIsDroppedAndTheFileStaysAppendable(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("cache.jsonl");
        CountingGenerator backend = new CountingGenerator();
        try (GenerationCache cache = GenerationCache.open(file)) {
            new CachedGenerator(backend, cache).generateAll(raw("a"), Protocol.STUDY_SAMPLING);
        }
        Files.writeString(file, "{\"key\":\"abc\",\"resp", StandardCharsets.UTF_8, StandardOpenOption.APPEND);
        try (GenerationCache cache = GenerationCache.open(file)) {
            assertThat(cache.size()).isEqualTo(1);
            new CachedGenerator(backend, cache).generateAll(raw("b"), Protocol.STUDY_SAMPLING);
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
