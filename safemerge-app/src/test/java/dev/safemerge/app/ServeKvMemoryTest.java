package dev.safemerge.app;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.safemerge.tensor.ByteSizes;
import dev.safemerge.tensor.JsonMappers;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code serve --kv-memory}: the start-up line, /metrics, and a bad size. */
class ServeKvMemoryTest {
    private static final Pattern SERVING = Pattern.compile("serving .* on (http://127\\.0\\.0\\.1:\\d+)/v1");

    @TempDir
    Path dir;

    @Test
    void theStartupLineAndMetricsReportKvMemoryPerSequenceAndTheBudget() throws Exception {
        Path model = TextGenerationEndToEndTest.writeTinyLlama(dir.resolve("tiny-llama"));
        // two layers, two KV heads of 16 dimensions: a float key and value row of 32 per layer
        long perToken = 2L * Float.BYTES * 2 * 32;
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
                        model.toString(),
                        "--kv-memory",
                        "1MiB",
                        "--port",
                        "0")
                .redirectError(dir.resolve("serve.log").toFile())
                .start();
        try {
            BufferedReader out =
                    new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
            String url = null;
            String kvLine = null;
            for (String line = out.readLine(); line != null; line = out.readLine()) {
                Matcher matcher = SERVING.matcher(line);
                if (matcher.find()) {
                    url = matcher.group(1);
                } else if (line.startsWith("KV cache:")) {
                    kvLine = line;
                    break;
                }
            }
            assertThat(url).isNotNull();
            assertThat(kvLine)
                    .isEqualTo("KV cache: " + ByteSizes.format(perToken) + " per token per sequence, "
                            + ByteSizes.format(perToken * 512) + " per sequence at the full context of 512 tokens;"
                            + " budget " + ByteSizes.format(1 << 20) + " (--kv-memory)");
            JsonNode metrics = JsonMappers.plain()
                    .readTree(HttpClient.newHttpClient()
                            .send(
                                    HttpRequest.newBuilder(URI.create(url + "/metrics"))
                                            .build(),
                                    HttpResponse.BodyHandlers.ofString())
                            .body());
            assertThat(metrics.path("kv_budget_bytes").asLong()).isEqualTo(1 << 20);
            assertThat(metrics.path("kv_bytes_per_token").path("tiny-llama").asLong())
                    .isEqualTo(perToken);
            assertThat(metrics.path("kv_reserved_bytes").asLong()).isZero();
        } finally {
            process.destroy();
            process.waitFor(30, TimeUnit.SECONDS);
        }
    }

    @Test
    void aBadKvMemorySizeIsAUsageErrorNamingTheOption() throws Exception {
        Path model = TextGenerationEndToEndTest.writeTinyLlama(dir.resolve("tiny-llama"));
        MainTest.Result result = MainTest.run("serve", "--model", model.toString(), "--kv-memory", "lots");
        assertThat(result.code()).isEqualTo(2);
        assertThat(result.err().strip())
                .startsWith("error: --kv-memory: size 'lots'")
                .doesNotContain("\n");
    }
}
