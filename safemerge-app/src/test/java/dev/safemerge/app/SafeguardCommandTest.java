package dev.safemerge.app;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.safemerge.eval.Json;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafeguardCommandTest {
    /**
     * A tiny chat Llama with a chat template, the safeguard module's test fixture; its folder is named {@code base}
     * because the registry names a model after its folder and the tests ask for {@code base:1}.
     */
    static final String TINY_BASE = "../safemerge-safeguard/src/test/resources/tiny-chat/base";

    @TempDir
    Path tmp;

    /** Eight prompt/response pairs for a two-step fine-tune with {@code --train}. */
    static Path trainingFile(Path dir) throws java.io.IOException {
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            lines.add("{\"prompt\": \"What is " + i + " + 1?\", \"response\": \"Sure! The answer is " + (i + 1)
                    + ".\\n#### " + (i + 1) + "\"}");
        }
        return Files.write(dir.resolve("train.jsonl"), lines);
    }

    /**
     * Runs safeguard over the tiny base as its own full fine-tune with {@code more} arguments, and checks that it is
     * refused with one error line holding {@code expected}, exit 2 and nothing written.
     */
    private void refusedBeforeAnyWork(String expected, String... more) {
        Path out = tmp.resolve("run");
        List<String> args = new ArrayList<>(List.of(
                "safeguard",
                "--base",
                TINY_BASE,
                "--finetuned",
                TINY_BASE,
                "--methods",
                "linear",
                "--safety",
                "harmful=../data/safety/harmful.jsonl"));
        args.addAll(List.of(more));
        args.addAll(List.of("--out", out.toString()));
        MainTest.Result r = MainTest.run(args.toArray(String[]::new));
        assertThat(r.code()).isEqualTo(Main.EXIT_BAD_INPUT);
        assertThat(r.err().strip().lines().filter(l -> l.startsWith("error:"))).hasSize(1);
        assertThat(r.err()).contains(expected);
        assertThat(out).doesNotExist();
    }

    @Test
    void badInputIsOneLineWithExitTwoBeforeAnyWork() {
        refusedBeforeAnyWork("bogus", "--task", "add=../data/tasks/numeric.jsonl:bogus");
    }

    @Test
    void anUnknownProtocolPresetIsOneLineWithExitTwoBeforeAnyWork() {
        refusedBeforeAnyWork("--protocol bogus: unknown preset", "--protocol", "bogus");
    }

    @Test
    void anUnreachableEndpointIsOneLineWithExitTwoBeforeAnyWork() throws Exception {
        // A port held by a bound socket that does not listen: connections are refused, and no other process can take
        // the port meanwhile (a port closed before use could be taken by anyone).
        try (Socket holder = new Socket()) {
            holder.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            int port = holder.getLocalPort();
            refusedBeforeAnyWork(
                    "--endpoint http://127.0.0.1:" + port + ": unreachable", "--endpoint", "http://127.0.0.1:" + port);
        }
    }

    /**
     * The arguments of the smallest study of the tiny base: a two-step fine-tune, one linear variant, three prompts
     * of each set, no system prompt, one thread; callers add the answer length, the output and what they test.
     */
    static List<String> smallStudy(Path train) {
        return new ArrayList<>(List.of(
                "safeguard",
                "--base",
                TINY_BASE,
                "--train",
                train.toString(),
                "--finetune-option=--max-steps=2",
                "--finetune-option=--lora-r=4",
                "--methods",
                "linear",
                "--lambdas",
                "0.5",
                "--safety",
                "harmful=../data/safety/harmful.jsonl",
                "--benign",
                "../data/safety/benign.jsonl",
                "--task",
                "add=../data/tasks/numeric.jsonl:numeric",
                "--limit",
                "3",
                "--no-system-prompt",
                "--threads",
                "1"));
    }

    @Test
    void trainsThenRunsTheStudyAndARerunReusesEverything() throws Exception {
        Path train = trainingFile(tmp);
        Path out = tmp.resolve("run");
        List<String> study = smallStudy(train);
        study.addAll(
                List.of("--protocol", "plain", "--top-p", "0.9", "--max-new-tokens", "8", "--out", out.toString()));
        String[] args = study.toArray(String[]::new);
        MainTest.Result first = MainTest.run(args);
        assertThat(first.code()).as(first.err()).isEqualTo(Main.EXIT_OK);
        assertThat(out.resolve("finetune/adapter_config.json")).exists();
        JsonNode summary = Json.MAPPER.readTree(out.resolve("summary.json").toFile());
        assertThat(summary.path("variants")).hasSize(3);
        assertThat(summary.path("selected").isTextual()).isTrue();
        assertThat(out.resolve("report.html")).exists();
        assertThat(first.out()).contains("← selected");
        // the protocol as eval takes it: a preset and the options over it, in plan.yml and summary.json
        assertThat(summary.at("/protocol/preset").asText()).isEqualTo("plain");
        assertThat(summary.at("/protocol/top_p").asDouble()).isEqualTo(0.9);
        assertThat(summary.at("/protocol/overrides").toString())
                .isEqualTo("[\"--no-system-prompt\",\"--top-p 0.9\",\"--max-new-tokens 8\"]");
        assertThat(Files.readString(out.resolve("plan.yml")))
                .contains("protocol: \"plain\"")
                .contains("top_p: 0.9")
                .contains("max_new_tokens: 8");
        long cached = Files.readAllLines(out.resolve("generation-cache.jsonl")).size();

        MainTest.Result again = MainTest.run(args);
        assertThat(again.code()).as(again.err()).isEqualTo(Main.EXIT_OK);
        assertThat(Files.readAllLines(out.resolve("generation-cache.jsonl"))).hasSize((int) cached);
        assertThat(again.out()).doesNotContain("merging").doesNotContain("evaluating");

        // the written plan reproduces the run
        MainTest.Result fromPlan =
                MainTest.run("safeguard", "--plan", out.resolve("plan.yml").toString(), "--out", out.toString());
        assertThat(fromPlan.code()).as(fromPlan.err()).isEqualTo(Main.EXIT_OK);
    }
}
