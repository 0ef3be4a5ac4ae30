package dev.safemerge.app;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.safemerge.app.serve.OpenAiServer;
import dev.safemerge.model.Model;
import dev.safemerge.model.ModelLoadOptions;
import dev.safemerge.model.generate.Sampling;
import dev.safemerge.model.generate.TokenCallback;
import dev.safemerge.model.text.HfTokenizer;
import dev.safemerge.model.text.LoadedTextModel;
import dev.safemerge.tensor.DType;
import dev.safemerge.tensor.JsonMappers;
import dev.safemerge.tensor.LoraAdapterWriter;
import dev.safemerge.tensor.LoraConfig;
import dev.safemerge.tensor.LoraWeights;
import dev.safemerge.tensor.ModelWriter;
import dev.safemerge.tensor.Progress;
import dev.safemerge.tensor.TensorSpec;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** generate and serve on a real (tiny, random) Llama through the inference engine and the test tokenizer. */
public class TextGenerationEndToEndTest {
    static final int VOCAB = 563;
    static final int HIDDEN = 64;
    static final int INTERMEDIATE = 128;

    @TempDir
    static Path modelDir;

    @BeforeAll
    static void writeModel() throws IOException {
        modelDir = writeTinyLlama(modelDir.resolve("tiny-llama"));
        adapterDir = writeAdapter(modelDir.resolveSibling("tiny-adapter"), 11);
    }

    /** A random two-layer Llama (vocabulary 563, hidden 64, float32) with the test tokenizer, written to target. */
    public static Path writeTinyLlama(Path target) throws IOException {
        List<TensorSpec> specs = new ArrayList<>();
        specs.add(new TensorSpec("model.embed_tokens.weight", DType.F32, new long[] {VOCAB, HIDDEN}));
        for (int layer = 0; layer < 2; layer++) {
            String p = "model.layers." + layer + ".";
            specs.add(new TensorSpec(p + "input_layernorm.weight", DType.F32, new long[] {HIDDEN}));
            specs.add(new TensorSpec(p + "self_attn.q_proj.weight", DType.F32, new long[] {HIDDEN, HIDDEN}));
            specs.add(new TensorSpec(p + "self_attn.k_proj.weight", DType.F32, new long[] {HIDDEN / 2, HIDDEN}));
            specs.add(new TensorSpec(p + "self_attn.v_proj.weight", DType.F32, new long[] {HIDDEN / 2, HIDDEN}));
            specs.add(new TensorSpec(p + "self_attn.o_proj.weight", DType.F32, new long[] {HIDDEN, HIDDEN}));
            specs.add(new TensorSpec(p + "post_attention_layernorm.weight", DType.F32, new long[] {HIDDEN}));
            specs.add(new TensorSpec(p + "mlp.gate_proj.weight", DType.F32, new long[] {INTERMEDIATE, HIDDEN}));
            specs.add(new TensorSpec(p + "mlp.up_proj.weight", DType.F32, new long[] {INTERMEDIATE, HIDDEN}));
            specs.add(new TensorSpec(p + "mlp.down_proj.weight", DType.F32, new long[] {HIDDEN, INTERMEDIATE}));
        }
        specs.add(new TensorSpec("model.norm.weight", DType.F32, new long[] {HIDDEN}));
        specs.add(new TensorSpec("lm_head.weight", DType.F32, new long[] {VOCAB, HIDDEN}));
        String config = "{\"architectures\":[\"LlamaForCausalLM\"],\"model_type\":\"llama\",\"vocab_size\":" + VOCAB
                + ",\"hidden_size\":" + HIDDEN + ",\"intermediate_size\":" + INTERMEDIATE
                + ",\"num_hidden_layers\":2,\"num_attention_heads\":4,\"num_key_value_heads\":2,"
                + "\"max_position_embeddings\":512,\"rms_norm_eps\":1e-5,\"bos_token_id\":556,\"eos_token_id\":557,"
                + "\"tie_word_embeddings\":false,\"torch_dtype\":\"float32\"}";
        Random random = new Random(7);
        try (ModelWriter writer = ModelWriter.create(target, specs, Long.MAX_VALUE, Map.of())) {
            for (TensorSpec spec : specs) {
                float[] values = new float[(int) spec.elementCount()];
                boolean norm = spec.name().endsWith("norm.weight");
                for (int i = 0; i < values.length; i++) {
                    values[i] = norm ? 1f : (float) (random.nextGaussian() * 0.2);
                }
                writer.writeFloats(spec.name(), values);
            }
            writer.writeFile("config.json", config.getBytes(StandardCharsets.UTF_8));
            for (String file : List.of("tokenizer.json", "tokenizer_config.json", "generation_config.json")) {
                try (InputStream in = HfTokenizer.class.getResourceAsStream("tiny/" + file)) {
                    writer.writeFile(file, in.readAllBytes());
                }
            }
            writer.commit();
        }
        return target;
    }

    static Path adapterDir;

    /** A random rank-4 LoRA on q_proj and v_proj, written as a PEFT adapter directory. */
    public static Path writeAdapter(Path dir, long seed) {
        Random random = new Random(seed);
        Map<String, LoraWeights> weights = new java.util.LinkedHashMap<>();
        for (int layer = 0; layer < 2; layer++) {
            for (String module : List.of("q_proj", "v_proj")) {
                int out = module.equals("q_proj") ? HIDDEN : HIDDEN / 2;
                float[] a = new float[4 * HIDDEN];
                float[] b = new float[out * 4];
                for (int i = 0; i < a.length; i++) {
                    a[i] = (float) random.nextGaussian() * 0.5f;
                }
                for (int i = 0; i < b.length; i++) {
                    b[i] = (float) random.nextGaussian() * 0.5f;
                }
                weights.put(
                        "model.layers." + layer + ".self_attn." + module + ".weight",
                        new LoraWeights(a, b, 4, HIDDEN, out, 2f, false));
            }
        }
        LoraAdapterWriter.write(dir, LoraConfig.of(4, 8, List.of("q_proj", "v_proj"), "tiny-llama"), weights, Map.of());
        return dir;
    }

    static int[] engineGreedy(int[] prompt, int maxNewTokens, boolean ignoreEos) {
        return engineGreedy(ModelLoadOptions.defaults(), prompt, maxNewTokens, ignoreEos);
    }

    static int[] engineGreedy(ModelLoadOptions options, int[] prompt, int maxNewTokens, boolean ignoreEos) {
        try (Model model = Model.load(modelDir, options)) {
            Sampling params = Sampling.greedy(maxNewTokens).withIgnoreEos(ignoreEos);
            return model.generator(1)
                    .generate(List.of(prompt), params, TokenCallback.NONE, Progress.NONE)
                    .getFirst()
                    .tokenIds();
        }
    }

    static JsonNode generateJson(String... args) throws IOException {
        List<String> all = new ArrayList<>(List.of("generate", "--model", modelDir.toString(), "--json"));
        all.addAll(List.of(args));
        MainTest.Result result = MainTest.run(all.toArray(String[]::new));
        assertThat(result.code()).as(result.err()).isZero();
        return JsonMappers.plain().readTree(result.out());
    }

    static int[] ids(JsonNode json) {
        int[] ids = new int[json.path("ids").size()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = json.path("ids").get(i).asInt();
        }
        return ids;
    }

    @Test
    void generateWithIdsReturnsTheEnginesGreedyTokensAndTheirText() throws IOException {
        int[] prompt = {556, 300, 301, 302, 42};
        JsonNode json = generateJson(
                "--ids",
                Arrays.stream(prompt).mapToObj(Integer::toString).collect(Collectors.joining(",")),
                "--max-new-tokens",
                "12",
                "--ignore-eos");
        int[] expected = engineGreedy(prompt, 12, true);
        assertThat(ids(json)).containsExactly(expected);
        try (HfTokenizer tokenizer = HfTokenizer.load(modelDir)) {
            assertThat(json.path("text").asText()).isEqualTo(tokenizer.decode(expected));
        }
    }

    @Test
    void generateWithAPromptAddsBosAndStopsAtAStopString() throws IOException {
        JsonNode full = generateJson("--prompt", "The capital of France", "--max-new-tokens", "16", "--ignore-eos");
        try (HfTokenizer tokenizer = HfTokenizer.load(modelDir)) {
            int[] expected = engineGreedy(tokenizer.encode("The capital of France"), 16, true);
            assertThat(ids(full)).containsExactly(expected);
        }
        String text = full.path("text").asText();
        if (text.length() >= 6) {
            String stop = text.substring(3, 5);
            JsonNode stopped = generateJson(
                    "--prompt", "The capital of France", "--max-new-tokens", "16", "--ignore-eos", "--stop", stop);
            assertThat(stopped.path("text").asText()).isEqualTo(text.substring(0, text.indexOf(stop)));
        }
    }

    @Test
    void chatPromptGoesThroughTheTemplate() throws IOException {
        JsonNode json = generateJson("--prompt", "Hi", "--chat", "--system", "Be brief.", "--max-new-tokens", "6");
        try (HfTokenizer tokenizer = HfTokenizer.load(modelDir)) {
            int[] prompt = tokenizer.encode("<|bos|><|system|>Be brief.<|end|><|user|>Hi<|end|><|assistant|>", false);
            assertThat(ids(json)).containsExactly(engineGreedy(prompt, 6, false));
        }
    }

    @Test
    void adapterChangesTheAnswerExactlyAsTheEngineAppliesIt() throws Exception {
        int[] prompt = {556, 300, 301, 302, 42};
        String ids = Arrays.stream(prompt).mapToObj(Integer::toString).collect(Collectors.joining(","));
        JsonNode tuned = generateJson(
                "--adapter", adapterDir.toString(), "--ids", ids, "--max-new-tokens", "12", "--ignore-eos");
        int[] expected = engineGreedy(ModelLoadOptions.defaults().withAdapter(adapterDir, false), prompt, 12, true);
        assertThat(ids(tuned)).containsExactly(expected);
        assertThat(ids(tuned)).isNotEqualTo(engineGreedy(prompt, 12, true));

        // the server routes by model name: base and adapter answer differently, each as the engine does
        try (LoadedTextModel base = LoadedTextModel.open(modelDir, (Path) null, 2, Progress.SILENT);
                LoadedTextModel adapted = LoadedTextModel.open(modelDir, adapterDir, 2, Progress.SILENT);
                OpenAiServer server = OpenAiServer.start(
                        Map.of("base", base.generator(), "tuned", adapted.generator()),
                        new OpenAiServer.Options(
                                "127.0.0.1", 0, null, 2, 8, 16, OpenAiServer.Options.defaultKvMemory()))) {
            HttpClient client = HttpClient.newHttpClient();
            for (String name : List.of("base", "tuned")) {
                String body = "{\"model\":\"" + name + "\",\"temperature\":0,\"ignore_eos\":true,\"max_tokens\":12,"
                        + "\"prompt\":[" + ids + "]}";
                HttpResponse<String> response = client.send(
                        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/v1/completions"))
                                .POST(HttpRequest.BodyPublishers.ofString(body))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
                int[] engine = name.equals("base") ? engineGreedy(prompt, 12, true) : expected;
                assertThat(JsonMappers.plain()
                                .readTree(response.body())
                                .path("choices")
                                .get(0)
                                .path("text")
                                .asText())
                        .isEqualTo(base.tokenizer().decode(engine));
            }
        }
    }

    @Test
    void chatStreamsAnswersKeepsHistoryAndResets() throws IOException {
        java.io.InputStream stdin = System.in;
        try {
            System.setIn(new java.io.ByteArrayInputStream(
                    "Hi\nAnd then?\n/reset\nHi\n/exit\n".getBytes(StandardCharsets.UTF_8)));
            MainTest.Result result = MainTest.run(
                    "chat", "--model", modelDir.toString(), "--max-new-tokens", "4", "--system", "Be brief.");
            assertThat(result.code()).as(result.err()).isZero();
            assertThat(result.out()).contains("(new conversation)");
            try (HfTokenizer tokenizer = HfTokenizer.load(modelDir)) {
                int[] first =
                        tokenizer.encode("<|bos|><|system|>Be brief.<|end|><|user|>Hi<|end|><|assistant|>", false);
                String answer = tokenizer.decode(engineGreedy(first, 4, false));
                assertThat(answer).isNotEmpty();
                // the same first question after /reset gets the same greedy answer
                assertThat(result.out().split(java.util.regex.Pattern.quote(answer), -1).length - 1)
                        .isGreaterThanOrEqualTo(2);
            }
        } finally {
            System.setIn(stdin);
        }
    }

    @Test
    void badArgumentsAreUsageErrors() {
        assertThat(MainTest.run("generate", "--model", modelDir.toString(), "--max-new-tokens", "3")
                        .code())
                .isEqualTo(2);
        MainTest.Result outside =
                MainTest.run("generate", "--model", modelDir.toString(), "--ids", "1,99999", "--max-new-tokens", "3");
        assertThat(outside.code()).isEqualTo(2);
        assertThat(outside.err()).contains("99999");
        // the model's window is 512 tokens: a prompt that cannot fit with the requested tokens is refused up front
        MainTest.Result tooLong = MainTest.run(
                "generate", "--model", modelDir.toString(), "--prompt", "a b ".repeat(400), "--max-new-tokens", "3");
        assertThat(tooLong.code()).isEqualTo(2);
        assertThat(tooLong.err()).contains("--prompt").contains("context window of 512 tokens");
        MainTest.Result tooManyNew =
                MainTest.run("generate", "--model", modelDir.toString(), "--ids", "1,2", "--max-new-tokens", "511");
        assertThat(tooManyNew.code()).isEqualTo(2);
        assertThat(tooManyNew.err()).contains("2 prompt tokens + 511 new tokens");
        assertThat(MainTest.run(
                                "generate",
                                "--model",
                                modelDir.resolve("missing").toString(),
                                "--prompt",
                                "x",
                                "--max-new-tokens",
                                "3")
                        .code())
                .isEqualTo(2);
    }

    @Test
    void serveOnAPortInUseOrOutOfRangeIsAUsageError() throws Exception {
        MainTest.Result negative = MainTest.run("serve", "--model", modelDir.toString(), "--port", "-5");
        assertThat(negative.code()).isEqualTo(2);
        assertThat(negative.err().strip()).contains("--port").doesNotContain("\n");
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            MainTest.Result inUse = MainTest.run(
                    "serve", "--model", modelDir.toString(), "--port", String.valueOf(taken.getLocalPort()));
            assertThat(inUse.code()).isEqualTo(2);
            assertThat(inUse.err().strip())
                    .contains("cannot listen on 127.0.0.1:" + taken.getLocalPort())
                    .doesNotContain("\n");
        }
    }

    @Test
    void servedRequestsBatchedTogetherGiveTheSameGreedyAnswersAsOneAtATime() throws Exception {
        try (LoadedTextModel local = LoadedTextModel.open(modelDir, ModelLoadOptions.defaults(), 4, Progress.SILENT);
                OpenAiServer server = OpenAiServer.start(
                        Map.of("tiny", local.generator()),
                        new OpenAiServer.Options(
                                "127.0.0.1", 0, null, 4, 32, 16, OpenAiServer.Options.defaultKvMemory()))) {
            HttpClient client = HttpClient.newHttpClient();
            List<String> questions = List.of("Hi", "What is the capital of France?", "Count to three.", "Hello there");
            List<String> alone = new ArrayList<>();
            for (String question : questions) {
                alone.add(ask(client, server, question).join());
            }
            List<CompletableFuture<String>> together = new ArrayList<>();
            for (String question : questions) {
                together.add(ask(client, server, question));
            }
            for (int i = 0; i < questions.size(); i++) {
                assertThat(together.get(i).join()).isEqualTo(alone.get(i));
            }
        }
    }

    static CompletableFuture<String> ask(HttpClient client, OpenAiServer server, String question) {
        String body = "{\"model\":\"tiny\",\"temperature\":0,\"max_tokens\":10,\"messages\":[{\"role\":\"user\","
                + "\"content\":\"" + question + "\"}]}";
        return client.sendAsync(
                        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/v1/chat/completions"))
                                .POST(HttpRequest.BodyPublishers.ofString(body))
                                .build(),
                        HttpResponse.BodyHandlers.ofString())
                .thenApply(response -> {
                    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
                    try {
                        JsonNode json = JsonMappers.plain().readTree(response.body());
                        return json.path("choices")
                                        .get(0)
                                        .path("message")
                                        .path("content")
                                        .asText() + "|"
                                + json.path("usage").path("completion_tokens").asInt();
                    } catch (IOException e) {
                        throw new IllegalStateException(e);
                    }
                });
    }
}
