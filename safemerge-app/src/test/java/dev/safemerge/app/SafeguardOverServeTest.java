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

    /** The command line of this project's main class in a child JVM, with {@code args}. */
    private static List<String> childMain(String... args) {
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> command = new ArrayList<>(List.of(
                java,
                "--add-modules",
                "jdk.incubator.vector",
                "--enable-native-access=ALL-UNNAMED",
                "-Xmx512m",
                "-cp",
                System.getProperty("java.class.path"),
                Main.class.getName()));
        command.addAll(List.of(args));
        return command;
    }

    /**
     * Starts {@code serve} (with {@code options}) in a child JVM on a free port; returns its URL once it says it is
     * serving.
     */
    private String serve(String name, String... options) throws IOException {
        List<String> command = childMain(
                "serve",
                "--model",
                SafeguardCommandTest.TINY_BASE,
                "--served-model-name",
                "base",
                "--max-loras",
                "2",
                "--port",
                "0");
        command.addAll(List.of(options));
        Process process = new ProcessBuilder(command)
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
                SafeguardCommandTest.TINY_BASE,
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

    /**
     * A small plan whose base is answered by {@code endpoint}; its fine-tune is a full model, so it and the merge run
     * in-process.
     */
    private static List<String> smallPlan(Path out, String endpoint) {
        return List.of(
                "safeguard",
                "--base",
                SafeguardCommandTest.TINY_BASE,
                "--finetuned",
                SafeguardCommandTest.TINY_BASE,
                "--methods",
                "linear",
                "--lambdas",
                "0.5",
                "--safety",
                "harmful=../data/safety/harmful.jsonl",
                "--limit",
                "1",
                "--max-new-tokens",
                "2",
                "--threads",
                "1",
                "--endpoint",
                endpoint,
                "--model-name",
                "base",
                "--out",
                out.toString());
    }

    @Test
    void theApiKeyComesFromTheNamedVariableAndIsSentToTheServer() throws Exception {
        String url = serve("keyed", "--api-key", "s3cret-key");

        // without the key the server refuses the first request: one line naming the endpoint, exit 2, no work
        Path refused = tmp.resolve("refused");
        MainTest.Result withoutKey = MainTest.run(smallPlan(refused, url).toArray(String[]::new));
        assertThat(withoutKey.code()).as(withoutKey.err()).isEqualTo(Main.EXIT_BAD_INPUT);
        assertThat(withoutKey.err().strip().lines().filter(l -> l.startsWith("error:")))
                .hasSize(1);
        assertThat(withoutKey.err()).contains("--endpoint " + url).contains("HTTP 401");
        assertThat(refused).doesNotExist();

        // a variable that is not set is bad input naming the option and the variable
        List<String> unset = new ArrayList<>(smallPlan(tmp.resolve("unset"), url));
        unset.addAll(List.of("--api-key-env", "SAFEMERGE_TEST_KEY_THAT_IS_NOT_SET"));
        MainTest.Result notSet = MainTest.run(unset.toArray(String[]::new));
        assertThat(notSet.code()).isEqualTo(Main.EXIT_BAD_INPUT);
        assertThat(notSet.err()).contains("--api-key-env SAFEMERGE_TEST_KEY_THAT_IS_NOT_SET: the variable is not set");

        // with the key in the named variable (set for a child JVM only) the base is answered by the server
        Path keyed = tmp.resolve("keyed-run");
        List<String> args = new ArrayList<>(smallPlan(keyed, url));
        args.addAll(List.of("--api-key-env", "SAFEMERGE_TEST_KEY", "--concurrency", "2", "--timeout", "120"));
        ProcessBuilder run = new ProcessBuilder(childMain(args.toArray(String[]::new)))
                .redirectErrorStream(true)
                .redirectOutput(tmp.resolve("keyed-run.log").toFile());
        run.environment().put("SAFEMERGE_TEST_KEY", "s3cret-key");
        run.start().waitFor();
        // the base's evaluation went through the server; what the plan does after it (the merge of this plan's
        // fine-tune, which is the base itself, is refused) is not what this test is about
        String log = Files.readString(tmp.resolve("keyed-run.log"));
        assertThat(log).doesNotContain("--endpoint " + url).contains("evaluating finetuned");
        assertThat(Files.readString(tmp.resolve("keyed.log"))).contains("POST /v1/chat/completions model=base ");
    }

    @Test
    void aServerThatNeverAnswersTimesOutAsOneLineNamingTheEndpoint() throws Exception {
        // a listening socket that nobody accepts from: connections open, no answer ever comes
        try (java.net.ServerSocket silent =
                new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
            String url = "http://127.0.0.1:" + silent.getLocalPort();
            List<String> args = new ArrayList<>(smallPlan(tmp.resolve("generation"), url));
            args.addAll(List.of("--timeout", "1", "--retries", "0"));
            MainTest.Result r = MainTest.run(args.toArray(String[]::new));
            assertThat(r.code()).as(r.err()).isEqualTo(Main.EXIT_BAD_INPUT);
            assertThat(r.err().strip().lines().filter(l -> l.startsWith("error:")))
                    .singleElement()
                    .asString()
                    .contains("--endpoint " + url)
                    .contains("HttpTimeoutException");
            assertThat(tmp.resolve("generation")).doesNotExist();

            // the judge's server takes the same timeout
            Path judged = tmp.resolve("judge");
            MainTest.Result judge = MainTest.run(
                    "safeguard",
                    "--base",
                    SafeguardCommandTest.TINY_BASE,
                    "--finetuned",
                    SafeguardCommandTest.TINY_BASE,
                    "--methods",
                    "linear",
                    "--safety",
                    "harmful=../data/safety/harmful.jsonl",
                    "--judge",
                    "wildguard",
                    "--judge-endpoint",
                    url,
                    "--judge-model-name",
                    "wildguard",
                    "--timeout",
                    "1",
                    "--retries",
                    "0",
                    "--out",
                    judged.toString());
            assertThat(judge.code()).as(judge.err()).isEqualTo(Main.EXIT_BAD_INPUT);
            assertThat(judge.err().strip().lines().filter(l -> l.startsWith("error:")))
                    .singleElement()
                    .asString()
                    .contains("--judge-endpoint " + url)
                    .contains("HttpTimeoutException");
            assertThat(judged).doesNotExist();
        }
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
