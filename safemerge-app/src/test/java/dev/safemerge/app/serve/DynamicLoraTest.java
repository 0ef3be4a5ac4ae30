package dev.safemerge.app.serve;

import static dev.safemerge.app.serve.OpenAiServerTest.CLIENT;
import static dev.safemerge.app.serve.OpenAiServerTest.json;
import static dev.safemerge.app.serve.OpenAiServerTest.post;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.safemerge.app.TextGenerationEndToEndTest;
import dev.safemerge.model.ModelLoadOptions;
import dev.safemerge.model.generate.Sampling;
import dev.safemerge.model.text.LoadedTextModel;
import dev.safemerge.tensor.Progress;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * vLLM's dynamic LoRA API over one loaded base, on a real tiny model over loopback: adapters load and unload while
 * serving, are addressed by name and listed, answer exactly as the engine with that adapter does, share batches with
 * the base, and --max-loras bounds how many are loaded.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class DynamicLoraTest {
    static Path adapter(Path dir, String name, long seed) {
        return TextGenerationEndToEndTest.writeAdapter(dir.resolve(name), seed);
    }

    private static String completion(String model) {
        return "{\"model\":\"" + model + "\",\"temperature\":0,\"ignore_eos\":true,\"max_tokens\":10,"
                + "\"prompt\":[556,300,301,302,42]}";
    }

    private static String text(HttpResponse<String> response) throws Exception {
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        return json(response).path("choices").get(0).path("text").asText();
    }

    /** What the engine answers with the adapter loaded the classic way (its own model, adapter unmerged). */
    private static String engineAnswer(Path model, Path adapter) {
        ModelLoadOptions options = ModelLoadOptions.defaults();
        try (LoadedTextModel m = LoadedTextModel.open(
                model, adapter == null ? options : options.withAdapter(adapter, false), 1, Progress.SILENT)) {
            Sampling greedy = Sampling.greedy(10).withIgnoreEos(true);
            return m.generator()
                    .generate(List.of(new int[] {556, 300, 301, 302, 42}), greedy, (s, d) -> {})
                    .getFirst()
                    .text();
        }
    }

    private static List<String> modelIds(OpenAiServer server) throws Exception {
        HttpResponse<String> response = CLIENT.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/v1/models"))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        List<String> ids = new ArrayList<>();
        json(response).path("data").forEach(m -> ids.add(m.path("id").asText()));
        return ids;
    }

    @Test
    void adaptersLoadAnswerAndUnloadOverOneBase(@TempDir Path dir) throws Exception {
        Path model = TextGenerationEndToEndTest.writeTinyLlama(dir.resolve("tiny"));
        Path first = adapter(dir, "first", 1);
        Path second = adapter(dir, "second", 2);
        Path third = adapter(dir, "third", 3);
        try (LoadedTextModel base = LoadedTextModel.open(model, ModelLoadOptions.defaults(), 4, Progress.SILENT);
                OpenAiServer server = OpenAiServer.start(
                        Map.of("tiny", base.generator()),
                        new OpenAiServer.DynamicLora("tiny", base.model()::loadAdapter, 2),
                        new OpenAiServer.Options(
                                "127.0.0.1", 0, null, 4, 64, 16, OpenAiServer.Options.defaultKvMemory()),
                        line -> {})) {
            assertThat(modelIds(server)).containsExactly("tiny");

            HttpResponse<String> loaded =
                    post(server, "/v1/load_lora_adapter", "{\"lora_name\":\"first\",\"lora_path\":\"" + first + "\"}");
            assertThat(loaded.statusCode()).isEqualTo(200);
            assertThat(loaded.body()).isEqualTo("Success: LoRA adapter 'first' added successfully.");

            HttpResponse<String> again =
                    post(server, "/v1/load_lora_adapter", "{\"lora_name\":\"first\",\"lora_path\":\"" + second + "\"}");
            assertThat(again.statusCode()).isEqualTo(400);
            assertThat(json(again).path("error").path("message").asText())
                    .isEqualTo("The lora adapter 'first' has already been loaded.");
            assertThat(post(server, "/v1/load_lora_adapter", "{\"lora_name\":\"x\"}")
                            .statusCode())
                    .isEqualTo(400);
            HttpResponse<String> missing = post(
                    server,
                    "/v1/load_lora_adapter",
                    "{\"lora_name\":\"x\",\"lora_path\":\"" + dir.resolve("nowhere") + "\"}");
            assertThat(missing.statusCode()).isEqualTo(404);
            assertThat(json(missing).path("error").path("type").asText()).isEqualTo("NotFoundError");
            HttpResponse<String> notAnAdapter =
                    post(server, "/v1/load_lora_adapter", "{\"lora_name\":\"x\",\"lora_path\":\"" + model + "\"}");
            assertThat(notAnAdapter.statusCode()).isEqualTo(400);
            assertThat(json(notAnAdapter).path("error").path("message").asText())
                    .contains(model.toString());

            assertThat(post(
                                    server,
                                    "/v1/load_lora_adapter",
                                    "{\"lora_name\":\"second\",\"lora_path\":\"" + second + "\"}")
                            .statusCode())
                    .isEqualTo(200);
            HttpResponse<String> beyond =
                    post(server, "/v1/load_lora_adapter", "{\"lora_name\":\"third\",\"lora_path\":\"" + third + "\"}");
            assertThat(beyond.statusCode()).isEqualTo(400);
            assertThat(json(beyond).path("error").path("code").asText()).isEqualTo("max_loras_reached");
            assertThat(json(beyond).path("error").path("message").asText()).contains("--max-loras");

            assertThat(modelIds(server)).containsExactly("tiny", "first", "second");
            HttpResponse<String> card = CLIENT.send(
                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/v1/models/first"))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(json(card).path("parent").asText()).isEqualTo("tiny");
            assertThat(json(card).path("root").asText()).isEqualTo(first.toString());

            // base and both adapters requested at once share batches; each answers as the engine does alone
            List<CompletableFuture<HttpResponse<String>>> answers = new ArrayList<>();
            List<String> names = List.of("tiny", "first", "second", "first", "tiny", "second");
            for (String name : names) {
                answers.add(CompletableFuture.supplyAsync(() -> {
                    try {
                        return post(server, "/v1/completions", completion(name));
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                }));
            }
            Map<String, String> expected = Map.of(
                    "tiny", engineAnswer(model, null),
                    "first", engineAnswer(model, first),
                    "second", engineAnswer(model, second));
            assertThat(expected.get("first")).isNotEqualTo(expected.get("tiny"));
            assertThat(expected.get("second")).isNotEqualTo(expected.get("first"));
            for (int i = 0; i < names.size(); i++) {
                assertThat(text(answers.get(i).get())).as(names.get(i)).isEqualTo(expected.get(names.get(i)));
            }
            JsonNode chat = json(post(
                    server,
                    "/v1/chat/completions",
                    "{\"model\":\"second\",\"max_tokens\":3,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"));
            assertThat(chat.path("model").asText()).isEqualTo("second");

            HttpResponse<String> unloaded = post(server, "/v1/unload_lora_adapter", "{\"lora_name\":\"first\"}");
            assertThat(unloaded.statusCode()).isEqualTo(200);
            assertThat(unloaded.body()).isEqualTo("Success: LoRA adapter 'first' removed successfully.");
            assertThat(post(server, "/v1/completions", completion("first")).statusCode())
                    .isEqualTo(404);
            HttpResponse<String> unknown = post(server, "/v1/unload_lora_adapter", "{\"lora_name\":\"first\"}");
            assertThat(unknown.statusCode()).isEqualTo(404);
            assertThat(json(unknown).path("error").path("message").asText())
                    .isEqualTo("The lora adapter 'first' cannot be found.");
            // the freed slot takes another adapter
            assertThat(post(
                                    server,
                                    "/v1/load_lora_adapter",
                                    "{\"lora_name\":\"third\",\"lora_path\":\"" + third + "\"}")
                            .statusCode())
                    .isEqualTo(200);
            assertThat(modelIds(server)).containsExactly("tiny", "second", "third");
        }
    }
}
