package dev.safemerge.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Broken or hostile training and prompt files end in exit 2 with one line naming the file, line and field. */
class HostileDataFilesTest {
    private static final byte[] INVALID_UTF8 = {(byte) 0xC3, (byte) 0x28, (byte) 0xFF};

    private static Path withInvalidUtf8OnLineTwo(Path file, String firstLine, String before, String after)
            throws IOException {
        byte[] head = (firstLine + "\n" + before).getBytes(StandardCharsets.UTF_8);
        byte[] tail = (after + "\n").getBytes(StandardCharsets.UTF_8);
        byte[] all = new byte[head.length + INVALID_UTF8.length + tail.length];
        System.arraycopy(head, 0, all, 0, head.length);
        System.arraycopy(INVALID_UTF8, 0, all, head.length, INVALID_UTF8.length);
        System.arraycopy(tail, 0, all, head.length + INVALID_UTF8.length, tail.length);
        return Files.write(file, all);
    }

    private static MainTest.Result finetune(Path dir, Path data) throws IOException {
        Path model = TinyChatModel.write(dir.resolve("model"), 7);
        return MainTest.run(
                "finetune",
                "--model",
                model.toString(),
                "--data",
                data.toString(),
                "--out",
                dir.resolve("o").toString(),
                "--max-steps",
                "1");
    }

    private static MainTest.Result safety(Path prompts, Path responses, Path out) {
        return MainTest.run(
                "eval",
                "safety",
                "--prompts",
                prompts.toString(),
                "--responses",
                responses.toString(),
                "--judge",
                "refusal",
                "--out",
                out.toString());
    }

    private static void assertOneLineBadInput(MainTest.Result result, String... mentions) {
        assertThat(result.code()).as(result.err()).isEqualTo(2);
        assertThat(result.err().strip()).doesNotContain("\n").contains(mentions);
    }

    @Test
    void invalidUtf8InTrainingDataNamesTheFileAndLine(@TempDir Path dir) throws IOException {
        Path data = withInvalidUtf8OnLineTwo(
                dir.resolve("train.jsonl"),
                "{\"prompt\": \"what\", \"response\": \"blue\"}",
                "{\"prompt\": \"",
                "\", \"response\": \"blue\"}");
        assertOneLineBadInput(finetune(dir, data), "train.jsonl:2:", "not valid UTF-8");
    }

    @Test
    void anOverlongTrainingLineIsRefusedBeforeTokenizing(@TempDir Path dir) throws IOException {
        Path data = dir.resolve("train.jsonl");
        String huge = "blue ".repeat(300_000);
        Files.writeString(
                data,
                "{\"prompt\": \"what\", \"response\": \"blue\"}\n{\"prompt\": \"what\", \"response\": \"" + huge
                        + "\"}\n");
        assertOneLineBadInput(finetune(dir, data), "train.jsonl:2:", "longer than the limit of 1048576");
    }

    @Test
    void invalidUtf8InAPromptFileNamesTheFileAndLine(@TempDir Path dir) throws IOException {
        Path prompts =
                withInvalidUtf8OnLineTwo(dir.resolve("prompts.jsonl"), "{\"prompt\": \"a\"}", "{\"prompt\": \"", "\"}");
        Path responses =
                Files.writeString(dir.resolve("responses.jsonl"), "{\"prompt\": \"a\", \"response\": \"no\"}\n");
        assertOneLineBadInput(safety(prompts, responses, dir.resolve("out")), "prompts.jsonl:2:", "not valid UTF-8");
    }

    @Test
    void aNumberIsNotAPrompt(@TempDir Path dir) throws IOException {
        Path prompts = Files.writeString(dir.resolve("prompts.jsonl"), "{\"prompt\": \"a\"}\n{\"prompt\": 5}\n");
        Path responses =
                Files.writeString(dir.resolve("responses.jsonl"), "{\"prompt\": \"a\", \"response\": \"no\"}\n");
        assertOneLineBadInput(
                safety(prompts, responses, dir.resolve("out")), "prompts.jsonl:2:", "'prompt' must be a string");
    }

    @Test
    void aNumberIsNotAResponse(@TempDir Path dir) throws IOException {
        Path prompts = Files.writeString(dir.resolve("prompts.jsonl"), "{\"prompt\": \"a\"}\n");
        Path responses = Files.writeString(dir.resolve("responses.jsonl"), "{\"prompt\": \"a\", \"response\": 5}\n");
        assertOneLineBadInput(
                safety(prompts, responses, dir.resolve("out")), "responses.jsonl:1:", "'response' must be a string");
    }
}
