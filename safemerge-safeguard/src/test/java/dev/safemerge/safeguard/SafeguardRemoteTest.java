package dev.safemerge.safeguard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.safemerge.eval.Json;
import dev.safemerge.eval.gen.OpenAiGenerator;
import dev.safemerge.tensor.BadInputException;
import dev.safemerge.tensor.Progress;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafeguardRemoteTest {
    /** No key, 4 requests in flight, 5 minutes per request, 6 attempts, for every server of these tests. */
    private static final OpenAiGenerator.Options DEFAULTS = OpenAiGenerator.Options.defaults(null, null);

    @TempDir
    Path tmp;

    @Test
    void variantsRunAsAdaptersSpreadOverEveryServerAndMeasureWhatTheEngineMeasuresInProcess() throws IOException {
        Path base = Fixture.base(tmp);
        Path adapter = Fixture.adapter(tmp, "adapter", 7);
        SafeguardPlan plan = Fixture.plan(base, List.of(adapter), List.of("linear", "slerp"), List.of(0.5), "pareto");
        Path local = tmp.resolve("local");
        SafeguardRunner.run(plan, local, SafeguardRunner.Events.NONE, Progress.SILENT, SafeguardRunnerTest.QUIET);

        Path out = tmp.resolve("remote");
        StringWriter log = new StringWriter();
        try (ServedModelDouble a = new ServedModelDouble(base, "tiny");
                ServedModelDouble b = new ServedModelDouble(base, "tiny")) {
            SafeguardEndpoints endpoints =
                    new SafeguardEndpoints(List.of(a.url(), b.url()), "tiny", null, null, DEFAULTS, DEFAULTS);
            SafeguardRunner.run(
                    plan, endpoints, out, SafeguardRunner.Events.NONE, Progress.SILENT, new PrintWriter(log));
            for (ServedModelDouble server : List.of(a, b)) {
                // the fine-tune's adapter and the λ-scaled one, each loaded on every server and unloaded after
                assertThat(server.loads).hasSize(2);
                assertThat(server.loads.get(0)).startsWith("finetuned-");
                assertThat(server.loads.get(1)).startsWith("linear-0.50-");
                assertThat(server.unloads).isEqualTo(server.loads);
                assertThat(server.adapters()).isEmpty();
                // base, fine-tune and linear were generated on both servers; slerp never reached a server
                assertThat(server.requests).contains("tiny").contains(server.loads.toArray(String[]::new));
            }
            assertThat(a.loads).isEqualTo(b.loads);
        }
        assertThat(log.toString())
                .contains("slerp-0.50: a full merge, which no adapter expresses: evaluated in-process");
        assertThat(out.resolve("adapters")).isEmptyDirectory(); // scaled adapters go once evaluated
        JsonNode remote = Json.MAPPER.readTree(out.resolve("summary.json").toFile());
        JsonNode reference = Json.MAPPER.readTree(local.resolve("summary.json").toFile());
        assertThat(remote.path("endpoints").path("generation")).hasSize(2);
        for (int i = 0; i < 4; i++) {
            JsonNode r = remote.path("variants").get(i);
            JsonNode l = reference.path("variants").get(i);
            assertThat(r.path("name")).isEqualTo(l.path("name"));
            assertThat(r.path("asr_by_set")).as(r.path("name").asText()).isEqualTo(l.path("asr_by_set"));
            assertThat(r.path("over_refusal")).isEqualTo(l.path("over_refusal"));
            assertThat(r.path("task_by_set")).isEqualTo(l.path("task_by_set"));
        }
        assertThat(remote.path("selected")).isEqualTo(reference.path("selected"));
        assertThat(out.resolve("report.html")).exists();
    }

    @Test
    void anUnreachableEndpointOrJudgeIsBadInputBeforeAnyWork() throws IOException {
        Path base = Fixture.base(tmp);
        Path adapter = Fixture.adapter(tmp, "adapter", 7);
        SafeguardPlan plan = Fixture.plan(base, List.of(adapter), List.of("linear"), List.of(0.5), "pareto");
        // A port held by a bound socket that does not listen: connections are refused, and no other process can take
        // the port meanwhile (a port closed before use could be taken by anyone).
        Path out = tmp.resolve("run");
        try (Socket holder = new Socket()) {
            holder.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            int port = holder.getLocalPort();
            String closed = "http://127.0.0.1:" + port;
            assertThatThrownBy(() -> runQuietly(
                            plan, new SafeguardEndpoints(List.of(closed), "tiny", null, null, DEFAULTS, DEFAULTS), out))
                    .isInstanceOf(BadInputException.class)
                    .hasMessageStartingWith("--endpoint " + closed + ": unreachable");
            assertThat(out).doesNotExist();
            try (ServedModelDouble server = new ServedModelDouble(base, "tiny")) {
                assertThatThrownBy(() -> runQuietly(
                                plan,
                                new SafeguardEndpoints(List.of(server.url()), "other", null, null, DEFAULTS, DEFAULTS),
                                out))
                        .isInstanceOf(BadInputException.class)
                        .hasMessageContaining("does not serve the base model 'other'");
                SafeguardPlan judged = SafeguardPlanTest.with(plan, "judge", "wildguard");
                assertThatThrownBy(() -> runQuietly(
                                judged,
                                new SafeguardEndpoints(
                                        List.of(server.url()), "tiny", closed, "wildguard", DEFAULTS, DEFAULTS),
                                out))
                        .isInstanceOf(BadInputException.class)
                        .hasMessageStartingWith("--judge-endpoint " + closed + ": unreachable");
                assertThatThrownBy(() -> runQuietly(
                                judged,
                                new SafeguardEndpoints(List.of(server.url()), "tiny", null, null, DEFAULTS, DEFAULTS),
                                out))
                        .isInstanceOf(BadInputException.class)
                        .hasMessage(
                                "--judge wildguard needs either --judge-model DIR or --judge-endpoint URL (one of the two)");
                assertThat(server.requests).isEmpty();
                assertThat(server.loads).isEmpty();
            }
            assertThat(out).doesNotExist();
        }
    }

    /** A run against {@code endpoints} with no events, no progress bars and a quiet log. */
    private static void runQuietly(SafeguardPlan plan, SafeguardEndpoints endpoints, Path out) {
        SafeguardRunner.run(
                plan, endpoints, out, SafeguardRunner.Events.NONE, Progress.SILENT, SafeguardRunnerTest.QUIET);
    }
}
