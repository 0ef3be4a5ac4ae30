package dev.safemerge.app.serve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.safemerge.model.text.HfTokenizer;
import dev.safemerge.model.text.ScriptedTokenGenerator;
import dev.safemerge.model.text.SharedTestCache;
import dev.safemerge.model.text.TextGenerator;
import dev.safemerge.tensor.JsonMappers;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The server against real clients: the official {@code openai} npm package (src/test/node/openai_client.mjs) and
 * curl. Skipped, with a message, where node/npm or curl are not installed.
 */
class OpenAiClientCompatibilityTest {
    static final String OPENAI_VERSION = "7.55.0";
    static final String ANSWER = "Paris is the capital of France. 🙂";

    static boolean available(String... command) {
        try {
            Process process =
                    new ProcessBuilder(command).redirectErrorStream(true).start();
            process.getInputStream().readAllBytes();
            return process.waitFor(60, TimeUnit.SECONDS) && process.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    static String run(List<String> command, Path dir) throws IOException, InterruptedException {
        Process process = new ProcessBuilder(command)
                .directory(dir.toFile())
                .redirectError(ProcessBuilder.Redirect.DISCARD)
                .start();
        String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(5, TimeUnit.MINUTES)).isTrue();
        assertThat(process.exitValue())
                .as(String.join(" ", command) + "\n" + out)
                .isZero();
        return out;
    }

    /**
     * node_modules with the openai package, installed once into a cache folder. Builds running at the same time each
     * install into their own folder and rename it into place; the first one there wins and the others use its copy.
     */
    static Path openaiModules() throws IOException, InterruptedException {
        Path cache = Path.of(System.getProperty("user.home"), ".cache", "safemerge-test");
        Path root = cache.resolve("openai-" + OPENAI_VERSION);
        Path modules = root.resolve("node_modules");
        if (!Files.isRegularFile(modules.resolve("openai").resolve("package.json"))) {
            Files.createDirectories(cache);
            Path work = Files.createTempDirectory(cache, "openai-install-");
            List<String> install = List.of(
                    "npm",
                    "install",
                    "--silent",
                    "--no-audit",
                    "--no-fund",
                    "--prefix",
                    work.toString(),
                    "openai@" + OPENAI_VERSION);
            Process process = new ProcessBuilder(install)
                    .directory(work.toFile())
                    .redirectErrorStream(true)
                    .start();
            String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(process.waitFor(5, TimeUnit.MINUTES)).isTrue();
            assumeTrue(
                    process.exitValue() == 0,
                    () -> "cannot install openai@" + OPENAI_VERSION + " from the npm registry: skipping ("
                            + out.lines().findFirst().orElse("") + ")");
            SharedTestCache.moveIntoPlace(work, root, modules.resolve("openai").resolve("package.json"));
        }
        return modules;
    }

    static OpenAiServer start(Path dir, HfTokenizer[] holder, String apiKey) throws IOException {
        HfTokenizer tokenizer = HfTokenizer.load(OpenAiServerTest.tinyModel(dir));
        holder[0] = tokenizer;
        TextGenerator generator =
                new TextGenerator(tokenizer, new ScriptedTokenGenerator(tokenizer, prompt -> ANSWER, 4));
        return TinyLlamaServers.start(generator, apiKey, 64);
    }

    @Test
    void officialOpenAiClientWorks(@TempDir Path dir) throws Exception {
        assumeTrue(
                available("node", "--version") && available("npm", "--version"),
                "node and npm are not installed: skipping the test with the openai npm package");
        Path modules = openaiModules();
        Path script = Path.of("src/test/node/openai_client.mjs").toAbsolutePath();
        HfTokenizer[] tokenizer = new HfTokenizer[1];
        try (OpenAiServer server = start(dir, tokenizer, "test-key")) {
            List<String> command = new ArrayList<>(List.of(
                    "node", script.toString(), "http://127.0.0.1:" + server.port() + "/v1", "test-key", "tiny"));
            ProcessBuilder builder = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT);
            builder.environment().put("NODE_PATH", modules.toString());
            Process process = builder.start();
            String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(process.waitFor(2, TimeUnit.MINUTES)).isTrue();
            assertThat(process.exitValue()).as(out).isZero();
            JsonNode seen = JsonMappers.plain().readTree(out);
            assertThat(seen.path("models").get(0).asText()).isEqualTo("tiny");
            assertThat(seen.path("completion").path("text").asText()).isEqualTo(ANSWER);
            assertThat(seen.path("completion").path("finish").asText()).isEqualTo("stop");
            assertThat(seen.path("chat").path("content").asText()).isEqualTo(ANSWER);
            assertThat(seen.path("chat").path("role").asText()).isEqualTo("assistant");
            assertThat(seen.path("chat").path("usage").path("total_tokens").asInt())
                    .isPositive();
            assertThat(seen.path("stream").path("content").asText()).isEqualTo(ANSWER);
            assertThat(seen.path("stream").path("chunks").asInt()).isGreaterThan(3);
            assertThat(seen.path("stream").path("finish").asText()).isEqualTo("stop");
            assertThat(seen.path("stream")
                            .path("usage")
                            .path("completion_tokens")
                            .asInt())
                    .isEqualTo(seen.path("chat")
                            .path("usage")
                            .path("completion_tokens")
                            .asInt());
            assertThat(seen.path("missingModel").path("status").asInt()).isEqualTo(404);
            assertThat(seen.path("badRequest").path("status").asInt()).isEqualTo(400);
        } finally {
            if (tokenizer[0] != null) {
                tokenizer[0].close();
            }
        }
    }

    @Test
    void curlGetsJsonAndAStream(@TempDir Path dir) throws Exception {
        assumeTrue(available("curl", "--version"), "curl is not installed: skipping the curl test");
        HfTokenizer[] tokenizer = new HfTokenizer[1];
        try (OpenAiServer server = start(dir, tokenizer, null)) {
            String url = "http://127.0.0.1:" + server.port() + "/v1/chat/completions";
            String body =
                    "{\"model\":\"tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":40}";
            String plain = run(List.of("curl", "-sS", "-H", "Content-Type: application/json", "-d", body, url), dir);
            assertThat(JsonMappers.plain()
                            .readTree(plain)
                            .path("choices")
                            .get(0)
                            .path("message")
                            .path("content")
                            .asText())
                    .isEqualTo(ANSWER);
            String sse = run(
                    List.of(
                            "curl",
                            "-sS",
                            "-N",
                            "-H",
                            "Content-Type: application/json",
                            "-d",
                            "{\"model\":\"tiny\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}",
                            url),
                    dir);
            assertThat(sse).startsWith("data: {").endsWith("data: [DONE]\n\n");
            StringBuilder content = new StringBuilder();
            for (String event : OpenAiServerTest.events(sse)) {
                if (!event.equals("[DONE]")) {
                    content.append(JsonMappers.plain()
                            .readTree(event)
                            .path("choices")
                            .get(0)
                            .path("delta")
                            .path("content")
                            .asText(""));
                }
            }
            assertThat(content.toString()).isEqualTo(ANSWER);
        } finally {
            if (tokenizer[0] != null) {
                tokenizer[0].close();
            }
        }
    }
}
