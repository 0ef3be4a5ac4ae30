package dev.safemerge.model.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.safemerge.model.text.ChatMessage;
import dev.safemerge.tensor.BadInputException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SftDataTest {
    /** One id per byte (+3), BOS 1, EOS 2, and a template "<role>:content|" with generation prompt "A:". */
    static final TrainingTokenizer BYTES = new TrainingTokenizer() {
        @Override
        public int[] encode(String text) {
            byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
            int[] ids = new int[bytes.length];
            for (int i = 0; i < bytes.length; i++) {
                ids[i] = (bytes[i] & 0xff) + 3;
            }
            return ids;
        }

        @Override
        public OptionalInt bosId() {
            return OptionalInt.of(1);
        }

        @Override
        public OptionalInt eosId() {
            return OptionalInt.of(2);
        }

        @Override
        public boolean hasChatTemplate() {
            return true;
        }

        @Override
        public String renderChat(List<ChatMessage> messages, boolean addGenerationPrompt) {
            StringBuilder out = new StringBuilder();
            for (ChatMessage m : messages) {
                out.append(m.role().substring(0, 1).toUpperCase(java.util.Locale.ROOT))
                        .append(':')
                        .append(m.content())
                        .append('|');
            }
            return addGenerationPrompt ? out.append("A:").toString() : out.toString();
        }
    };

    @Test
    void promptResponseLearnsOnlyTheResponseAndEos(@TempDir Path dir) throws IOException {
        Path file = write(dir, "{\"prompt\": \"ab\", \"response\": \"cd\"}");
        SftData.Loaded loaded = SftData.load(file, BYTES, 100, SftData.Overlong.TRUNCATE, 0, 1);
        SftData.Example e = loaded.train().getFirst();
        int a = 'a' + 3;
        int b = 'b' + 3;
        int c = 'c' + 3;
        int d = 'd' + 3;
        assertThat(e.ids()).containsExactly(1, a, b, c, d, 2);
        int ignore = CrossEntropy.IGNORE;
        assertThat(e.labels()).containsExactly(ignore, ignore, c, d, 2, ignore);
    }

    @Test
    void chatLearnsEveryAssistantTurnIncludingItsEndMarker(@TempDir Path dir) throws IOException {
        Path file = write(
                dir,
                "{\"messages\": [{\"role\":\"user\",\"content\":\"x\"},{\"role\":\"assistant\",\"content\":\"y\"},"
                        + "{\"role\":\"user\",\"content\":\"z\"},{\"role\":\"assistant\",\"content\":\"w\"}]}");
        SftData.Example e = SftData.load(file, BYTES, 100, SftData.Overlong.TRUNCATE, 0, 1)
                .train()
                .getFirst();
        String text = "U:x|A:y|U:z|A:w|";
        assertThat(e.ids()).containsExactly(BYTES.encode(text));
        StringBuilder learned = new StringBuilder();
        for (int t = 0; t < e.length(); t++) {
            if (e.labels()[t] != CrossEntropy.IGNORE) {
                learned.append((char) (e.labels()[t] - 3));
            }
        }
        assertThat(learned.toString()).isEqualTo("y|w|");
    }

    @Test
    void overlongExamplesAreTruncatedOrDroppedAndCounted(@TempDir Path dir) throws IOException {
        Path file = write(
                dir, "{\"prompt\": \"a\", \"response\": \"bcdefgh\"}", "", "{\"prompt\": \"a\", \"response\": \"b\"}");
        SftData.Loaded truncated = SftData.load(file, BYTES, 5, SftData.Overlong.TRUNCATE, 0, 1);
        assertThat(truncated.truncated()).isEqualTo(1);
        assertThat(truncated.train())
                .hasSize(2)
                .allSatisfy(e -> assertThat(e.length()).isLessThanOrEqualTo(5));
        SftData.Loaded dropped = SftData.load(file, BYTES, 5, SftData.Overlong.DROP, 0, 1);
        assertThat(dropped.dropped()).isEqualTo(1);
        assertThat(dropped.train())
                .singleElement()
                .satisfies(e -> assertThat(e.lineNumber()).isEqualTo(3));
    }

    @Test
    void badLinesAreReportedByLineNumber(@TempDir Path dir) throws IOException {
        Path file = write(dir, "{\"prompt\": \"a\", \"response\": \"b\"}", "{not json");
        assertThatThrownBy(() -> SftData.load(file, BYTES, 100, SftData.Overlong.TRUNCATE, 0, 1))
                .isInstanceOf(BadInputException.class)
                .hasMessageContaining(file + ":2: not valid JSON");
        Path wrongKeys = write(dir, "{\"question\": \"a\"}");
        assertThatThrownBy(() -> SftData.load(wrongKeys, BYTES, 100, SftData.Overlong.TRUNCATE, 0, 1))
                .isInstanceOf(BadInputException.class)
                .hasMessageContaining(":1: expected \"messages\"");
        Path noAssistant = write(dir, "{\"messages\": [{\"role\":\"user\",\"content\":\"x\"}]}");
        assertThatThrownBy(() -> SftData.load(noAssistant, BYTES, 100, SftData.Overlong.TRUNCATE, 0, 1))
                .hasMessageContaining(":1: no \"assistant\" message");
    }

    /** One run names every bad line (up to 20), in the parser's words without its location internals. */
    @Test
    void everyBadLineIsReportedInOneRunWithoutParserInternals(@TempDir Path dir) throws IOException {
        StringBuilder lines = new StringBuilder();
        for (int i = 1; i <= 25; i++) {
            lines.append(i == 1 ? "{\"prompt\": \"p\", \"response\": \"r\"}" : i == 2 ? "{\"prompt\": \"p\"," : "{x}")
                    .append('\n');
        }
        Path file = dir.resolve("bad.jsonl");
        Files.writeString(file, lines);
        assertThatThrownBy(() -> SftData.load(file, BYTES, 64, SftData.Overlong.TRUNCATE, 0, 1))
                .isInstanceOf(BadInputException.class)
                .hasMessageStartingWith(
                        file + ": 24 bad lines: " + file + ":2: not valid JSON (Unexpected end-of-input")
                .hasMessageContaining("; " + file + ":3: not valid JSON (Unexpected character ('x' (code 120))")
                .hasMessageContaining(file + ":21: ")
                .hasMessageEndingWith("; and 4 more")
                .message()
                .doesNotContain(file + ":22:")
                .doesNotContain("Source")
                .doesNotContain("REDACTED")
                .doesNotContain("StreamReadFeature")
                .doesNotContain("\n");
    }

    @Test
    void validationSplitIsSeededAndDisjoint(@TempDir Path dir) throws IOException {
        String[] lines = new String[20];
        for (int i = 0; i < lines.length; i++) {
            lines[i] = "{\"prompt\": \"p" + i + "\", \"response\": \"r\"}";
        }
        Path file = write(dir, lines);
        SftData.Loaded a = SftData.load(file, BYTES, 100, SftData.Overlong.TRUNCATE, 0.1, 7);
        SftData.Loaded b = SftData.load(file, BYTES, 100, SftData.Overlong.TRUNCATE, 0.1, 7);
        assertThat(a.validation()).hasSize(2);
        assertThat(a.train()).hasSize(18);
        assertThat(a.validation().stream().map(SftData.Example::lineNumber))
                .containsExactlyElementsOf(
                        b.validation().stream().map(SftData.Example::lineNumber).toList())
                .doesNotContainAnyElementsOf(
                        a.train().stream().map(SftData.Example::lineNumber).toList());
    }

    @Test
    void batchesGroupSimilarLengths() {
        List<SftData.Example> examples = new java.util.ArrayList<>();
        for (int i = 0; i < 12; i++) {
            examples.add(new SftData.Example(i + 1, new int[1 + (i * 7) % 12], new int[1 + (i * 7) % 12]));
        }
        List<List<SftData.Example>> batches = SftData.batchesByLength(examples, 3, 1);
        assertThat(batches).hasSize(4);
        for (List<SftData.Example> batch : batches) {
            int min = batch.stream().mapToInt(SftData.Example::length).min().orElseThrow();
            int max = batch.stream().mapToInt(SftData.Example::length).max().orElseThrow();
            assertThat(max - min).isLessThanOrEqualTo(2);
        }
    }

    private static Path write(Path dir, String... lines) throws IOException {
        Path file = Files.createTempFile(dir, "data", ".jsonl");
        Files.writeString(file, String.join("\n", lines) + "\n");
        return file;
    }
}
