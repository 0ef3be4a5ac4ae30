package dev.safemerge.app;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.safemerge.eval.Json;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * safeguard end to end over two real {@code safemerge serve} processes on loopback: the fine-tune and its λ variant
 * are loaded into both as adapters at run time, requests go to both, the full merge runs in-process, and the numbers
 * equal an in-process run's.
 */
class SafeguardOverServeTest {
    private static final Pattern SERVING = Pattern.compile("serving .* on (http://127\\.0\\.0\\.1:\\d+)/v1");

    @TempDir
    Path tmp;

    private final List<Process> servers = new ArrayList<>();

    @AfterEach
    void stopServers() throws InterruptedException {
        for (Process server : servers) {
            server.destroy();
            server.waitFor(30, TimeUnit.SECONDS);
        }
    }

    /** Starts {@code serve} in a child JVM on a free port; returns its URL once it says it is serving. */
    private String serve(String name) throws IOException {
        String java = ProcessHandle.current().info().command().orElse("java");
        Process process = new ProcessBuilder(
                        java,
                        "--add-modules",
                        "jdk.incubator.vector",
                        "--enable-native-access=ALL-UNNAMED",
                        "-Xmx512m",
                        "-cp",
                        System.getProperty("java.class.path"),
                        Main.class.getName(),
                        "serve",
                        "--model",
                        SafeguardCommandTest.DEMO_BASE,
                        "--served-model-name",
                        "base",
                        "--max-loras",
                        "2",
                        "--port",
                        "0")
                .redirectError(tmp.resolve(name + ".log").toFile())
                .start();
        servers.add(process);
        BufferedReader out =
                new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        for (String line = out.readLine(); line != null; line = out.readLine()) {
            Matcher matcher = SERVING.matcher(line);
            if (matcher.find()) {
                return matcher.group(1);
            }
        }
        throw new IllegalStateException(
                name + " ended before serving: " + Files.readString(tmp.resolve(name + ".log")));
    }

    private static List<String> common(Path out) {
        return List.of(
                "safeguard",
                "--base",
                SafeguardCommandTest.DEMO_BASE,
                "--methods",
                "linear,slerp",
                "--lambdas",
                "0.5",
                "--safety",
                "harmful=../data/safety/harmful.jsonl",
                "--benign",
                "../data/safety/benign.jsonl",
                "--task",
                "add=../data/tasks/numeric.jsonl:numeric",
                "--select",
                "pareto",
                "--limit",
                "4",
                "--no-system-prompt",
                "--max-new-tokens",
                "8",
                "--threads",
                "1",
                "--out",
                out.toString());
    }

    @Test
    void theStudyRunsOnTwoServeInstancesWithDynamicallyLoadedAdapters() throws Exception {
        String first = serve("serve-1");
        String second = serve("serve-2");
        Path train = SafeguardCommandTest.trainingFile(tmp);
        Path remote = tmp.resolve("remote");
        List<String> args = new ArrayList<>(common(remote));
        args.addAll(List.of(
                "--train",
                train.toString(),
                "--finetune-option=--max-steps=2",
                "--finetune-option=--lora-r=4",
                "--endpoint",
                first,
                "--endpoint",
                second,
                "--model-name",
                "base"));
        MainTest.Result run = MainTest.run(args.toArray(String[]::new));
        assertThat(run.code()).as(run.err()).isIn(Main.EXIT_OK, Main.EXIT_CHECK_FAILED);
        assertThat(run.out()).contains("slerp-0.50: a full merge, which no adapter expresses: evaluated in-process");
        assertThat(remote.resolve("report.html")).exists();

        for (String log : List.of("serve-1", "serve-2")) {
            String requests = Files.readString(tmp.resolve(log + ".log"));
            assertThat(requests).contains("POST /v1/load_lora_adapter").contains("POST /v1/unload_lora_adapter");
            assertThat(requests).containsPattern("POST /v1/chat/completions model=finetuned-\\w+ ");
            assertThat(requests).containsPattern("POST /v1/chat/completions model=linear-0\\.50-\\w+ ");
            assertThat(requests).contains("POST /v1/chat/completions model=base ");
        }

        // the same plan in-process, with the adapter the first run trained, measures the same
        Path local = tmp.resolve("local");
        List<String> inProcess = new ArrayList<>(common(local));
        inProcess.addAll(List.of("--adapter", remote.resolve("finetune").toString()));
        MainTest.Result reference = MainTest.run(inProcess.toArray(String[]::new));
        assertThat(reference.code()).as(reference.err()).isEqualTo(run.code());
        JsonNode a = Json.MAPPER.readTree(remote.resolve("summary.json").toFile());
        JsonNode b = Json.MAPPER.readTree(local.resolve("summary.json").toFile());
        assertThat(a.path("variants")).hasSize(4);
        for (int i = 0; i < 4; i++) {
            JsonNode r = a.path("variants").get(i);
            JsonNode l = b.path("variants").get(i);
            assertThat(r.path("name")).isEqualTo(l.path("name"));
            assertThat(r.path("asr_by_set")).as(r.path("name").asText()).isEqualTo(l.path("asr_by_set"));
            assertThat(r.path("over_refusal")).isEqualTo(l.path("over_refusal"));
            assertThat(r.path("task_by_set")).isEqualTo(l.path("task_by_set"));
        }
        assertThat(a.path("selected")).isEqualTo(b.path("selected"));
    }
}
