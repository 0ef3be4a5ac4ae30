package dev.safemerge.model.text;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.safemerge.model.ModelConfig;
import dev.safemerge.model.train.TrainingTokenizer;
import dev.safemerge.tensor.BadInputException;
import dev.safemerge.tensor.JsonMappers;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;

/**
 * A Hugging Face fast tokenizer (tokenizer.json) through the Rust {@code tokenizers} library, with the special
 * tokens of tokenizer_config.json and generation_config.json. Encoding adds special tokens the way the tokenizer's
 * post-processor does (a BOS for Llama and Gemma, nothing for Qwen); nothing is ever truncated.
 */
public final class HfTokenizer implements AutoCloseable {
    private static final ObjectMapper JSON = JsonMappers.plain();

    private final HuggingFaceTokenizer tokenizer;
    private final Map<String, Integer> addedTokens;
    private final Set<Integer> specialIds;
    private final int vocabSize;
    private final Map<String, String> namedTokens;
    private final Set<Integer> eosTokenIds;
    private final boolean cleanUpSpaces;
    private final Optional<ChatTemplate> chatTemplate;

    private HfTokenizer(
            HuggingFaceTokenizer tokenizer,
            Map<String, Integer> addedTokens,
            Set<Integer> specialIds,
            int vocabSize,
            Map<String, String> namedTokens,
            Set<Integer> eosTokenIds,
            boolean cleanUpSpaces,
            Optional<ChatTemplate> chatTemplate) {
        this.tokenizer = tokenizer;
        this.addedTokens = addedTokens;
        this.specialIds = specialIds;
        this.vocabSize = vocabSize;
        this.namedTokens = namedTokens;
        this.eosTokenIds = eosTokenIds;
        this.cleanUpSpaces = cleanUpSpaces;
        this.chatTemplate = chatTemplate;
    }

    /**
     * Loads tokenizer.json of a model directory, with tokenizer_config.json (special token names, chat template)
     * and generation_config.json (EOS ids) when present.
     */
    public static HfTokenizer load(Path modelDir) {
        return load(modelDir, null);
    }

    /**
     * As {@link #load(Path)}, with {@code chatTemplate} (null: the model's own) as the chat template: the one place
     * where the template a conversation is rendered with is chosen.
     */
    public static HfTokenizer load(Path modelDir, ChatTemplate chatTemplate) {
        Path tokenizerJson = modelDir.resolve("tokenizer.json");
        if (!Files.isRegularFile(tokenizerJson)) {
            throw new BadInputException(modelDir + ": no tokenizer.json (only fast tokenizers are supported)");
        }
        JsonNode config = readOptional(modelDir.resolve("tokenizer_config.json"));
        ModelConfig.GenerationConfig generation = ModelConfig.readGeneration(modelDir);

        Map<String, Integer> added = new LinkedHashMap<>();
        Set<Integer> special = new LinkedHashSet<>();
        int maxId = scanTokenizerJson(tokenizerJson, added, special);
        if (config.path("added_tokens_decoder").isObject()) {
            config.path("added_tokens_decoder").properties().forEach(e -> {
                int id = Integer.parseInt(e.getKey());
                added.putIfAbsent(e.getValue().path("content").asText(), id);
                if (e.getValue().path("special").asBoolean(false)) {
                    special.add(id);
                }
            });
        }

        Map<String, String> named = new HashMap<>();
        for (String key : new String[] {"bos_token", "eos_token", "unk_token", "pad_token"}) {
            tokenString(config.path(key)).ifPresent(token -> named.put(key, token));
        }
        Set<Integer> eos = new LinkedHashSet<>();
        Optional.ofNullable(named.get("eos_token")).map(added::get).ifPresent(eos::add);
        eos.addAll(generation.eosTokenIds());
        if (!named.containsKey("bos_token") && generation.bosTokenId() != null) {
            int bosId = generation.bosTokenId();
            added.entrySet().stream()
                    .filter(e -> e.getValue() == bosId)
                    .findFirst()
                    .ifPresent(e -> named.put("bos_token", e.getKey()));
        }
        boolean cleanUp = config.path("clean_up_tokenization_spaces").asBoolean(false);

        HuggingFaceTokenizer native_;
        try (InputStream in = Files.newInputStream(tokenizerJson)) {
            // truncation=false: the library otherwise cuts every input to 512 tokens without a word.
            native_ = HuggingFaceTokenizer.newInstance(
                    in, Map.of("truncation", "false", "padding", "false", "addSpecialTokens", "true"));
        } catch (IOException | RuntimeException e) {
            throw new BadInputException(tokenizerJson + ": cannot load the tokenizer: " + e.getMessage(), e);
        }
        return new HfTokenizer(
                native_,
                Collections.unmodifiableMap(added),
                Collections.unmodifiableSet(special),
                maxId + 1,
                Map.copyOf(named),
                Collections.unmodifiableSet(eos),
                cleanUp,
                chatTemplate != null ? Optional.of(chatTemplate) : ChatTemplate.fromModelDir(modelDir));
    }

    private static JsonNode readOptional(Path file) {
        if (!Files.isRegularFile(file)) {
            return JSON.createObjectNode();
        }
        try {
            return JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new BadInputException(file + ": not valid JSON: " + e.getMessage(), e);
        }
    }

    private static Optional<String> tokenString(JsonNode node) {
        if (node.isTextual()) {
            return Optional.of(node.asText());
        }
        if (node.isObject() && node.path("content").isTextual()) {
            return Optional.of(node.path("content").asText());
        }
        return Optional.empty();
    }

    // Streams tokenizer.json (tens of MB for large vocabularies) for the added tokens and the highest id.
    private static int scanTokenizerJson(Path file, Map<String, Integer> added, Set<Integer> special) {
        int maxId = -1;
        try (JsonParser parser = JSON.createParser(file.toFile())) {
            if (parser.nextToken() != JsonToken.START_OBJECT) {
                throw new BadInputException(file + ": not a JSON object");
            }
            while (parser.nextToken() == JsonToken.FIELD_NAME) {
                String field = parser.currentName();
                parser.nextToken();
                if (field.equals("added_tokens")) {
                    for (JsonNode token : (JsonNode) JSON.readTree(parser)) {
                        int id = token.path("id").asInt();
                        added.put(token.path("content").asText(), id);
                        if (token.path("special").asBoolean(false)) {
                            special.add(id);
                        }
                        maxId = Math.max(maxId, id);
                    }
                } else if (field.equals("model")) {
                    maxId = Math.max(maxId, scanModel(parser));
                } else {
                    parser.skipChildren();
                }
            }
        } catch (IOException e) {
            throw new BadInputException(file + ": not valid JSON: " + e.getMessage(), e);
        }
        if (maxId < 0) {
            throw new BadInputException(file + ": no vocabulary");
        }
        return maxId;
    }

    private static int scanModel(JsonParser parser) throws IOException {
        int maxId = -1;
        while (parser.nextToken() == JsonToken.FIELD_NAME) {
            String field = parser.currentName();
            JsonToken value = parser.nextToken();
            if (field.equals("vocab") && value == JsonToken.START_OBJECT) {
                while (parser.nextToken() == JsonToken.FIELD_NAME) {
                    parser.nextToken();
                    maxId = Math.max(maxId, parser.getIntValue());
                }
            } else if (field.equals("vocab") && value == JsonToken.START_ARRAY) {
                // Unigram: [[piece, score], ...], ids are positions.
                int count = 0;
                while (parser.nextToken() != JsonToken.END_ARRAY) {
                    parser.skipChildren();
                    count++;
                }
                maxId = Math.max(maxId, count - 1);
            } else {
                parser.skipChildren();
            }
        }
        return maxId;
    }

    /** Token ids of a text with the special tokens the tokenizer's post-processor adds (e.g. BOS). */
    public int[] encode(String text) {
        return encode(text, true);
    }

    /** Token ids of a text; special-token strings in the text ({@code <|eot_id|>}) become their ids either way. */
    public int[] encode(String text, boolean addSpecialTokens) {
        long[] ids = tokenizer.encode(text, addSpecialTokens, false).getIds();
        int[] result = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            result[i] = Math.toIntExact(ids[i]);
        }
        return result;
    }

    /** The text of token ids without special tokens. */
    public String decode(int[] ids) {
        return decode(ids, true);
    }

    /**
     * The text of token ids as transformers' {@code decode} gives it, including its clean-up of spaces before
     * punctuation when tokenizer_config.json sets {@code clean_up_tokenization_spaces}.
     */
    public String decode(int[] ids, boolean skipSpecialTokens) {
        String text = decodeWithoutCleanUp(ids, skipSpecialTokens);
        return cleanUpSpaces ? cleanUpTokenization(text) : text;
    }

    /**
     * The decoder's text without transformers' space clean-up: what streaming (and vLLM's detokenizer) produce, and
     * the only form whose pieces concatenate to the whole.
     */
    String decodeWithoutCleanUp(int[] ids, boolean skipSpecialTokens) {
        if (ids.length == 0) {
            return "";
        }
        // An id the tokenizer has no token for decodes to nothing, as tokenizers' decode skips it: models pad their
        // embedding past the tokenizer (Qwen2.5: 151,936 rows for 151,665 tokens), and sampling can pick such a row.
        long[] longs = new long[ids.length];
        int kept = 0;
        for (int id : ids) {
            if (id < 0) {
                throw new BadInputException("token id " + id + " is negative");
            }
            if (id < vocabSize) {
                longs[kept++] = id;
            }
        }
        return kept == 0 ? "" : tokenizer.decode(java.util.Arrays.copyOf(longs, kept), skipSpecialTokens);
    }

    // transformers' clean_up_tokenization, applied when tokenizer_config.json asks for it.
    private static String cleanUpTokenization(String text) {
        return text.replace(" .", ".")
                .replace(" ?", "?")
                .replace(" !", "!")
                .replace(" ,", ",")
                .replace(" ' ", "'")
                .replace(" n't", "n't")
                .replace(" 'm", "'m")
                .replace(" 's", "'s")
                .replace(" 've", "'ve")
                .replace(" 're", "'re");
    }

    /** Number of token ids (the model's embedding may be larger). */
    public int vocabSize() {
        return vocabSize;
    }

    public Optional<String> bosToken() {
        return Optional.ofNullable(namedTokens.get("bos_token"));
    }

    public Optional<String> eosToken() {
        return Optional.ofNullable(namedTokens.get("eos_token"));
    }

    /** The ids that end generation: tokenizer_config's eos_token and generation_config's eos_token_id(s). */
    public Set<Integer> eosTokenIds() {
        return eosTokenIds;
    }

    /** The id of an added token ({@code <|eot_id|>}, {@code <bos>}, ...). */
    public OptionalInt addedTokenId(String token) {
        Integer id = addedTokens.get(token);
        return id == null ? OptionalInt.empty() : OptionalInt.of(id);
    }

    public boolean isSpecial(int id) {
        return specialIds.contains(id);
    }

    /** The model's chat template (chat_template.jinja or tokenizer_config.json), if it has one. */
    public Optional<ChatTemplate> chatTemplate() {
        return chatTemplate;
    }

    /**
     * A conversation (OpenAI-style message maps, optional tools) rendered by the model's chat template with this
     * tokenizer's named tokens, as transformers' {@code apply_chat_template(tokenize=False)}.
     */
    public String renderChat(
            List<? extends Map<String, ?>> messages,
            boolean addGenerationPrompt,
            List<? extends Map<String, ?>> tools) {
        ChatTemplate template = chatTemplate.orElseThrow(() ->
                new BadInputException("the model has no chat template (no chat_template in tokenizer_config.json)"));
        return template.render(messages, addGenerationPrompt, tools, templateVariables());
    }

    /** {@code bos_token}, {@code eos_token}, {@code unk_token}, {@code pad_token} for chat templates. */
    public Map<String, Object> templateVariables() {
        return Map.copyOf(namedTokens);
    }

    /** This tokenizer as the SFT data pipeline sees it: no BOS/EOS added by encode, the model's chat template. */
    public TrainingTokenizer forTraining() {
        return new TrainingTokenizer() {
            @Override
            public int[] encode(String text) {
                return HfTokenizer.this.encode(text, false);
            }

            @Override
            public OptionalInt bosId() {
                return bosToken().map(HfTokenizer.this::addedTokenId).orElse(OptionalInt.empty());
            }

            @Override
            public OptionalInt eosId() {
                OptionalInt named =
                        eosToken().map(HfTokenizer.this::addedTokenId).orElse(OptionalInt.empty());
                if (named.isPresent() || eosTokenIds.isEmpty()) {
                    return named;
                }
                return OptionalInt.of(eosTokenIds.iterator().next());
            }

            @Override
            public boolean hasChatTemplate() {
                return chatTemplate.isPresent();
            }

            @Override
            public String renderChat(List<ChatMessage> messages, boolean addGenerationPrompt) {
                List<Map<String, Object>> maps = messages.stream()
                        .map(m -> new dev.safemerge.model.text.ChatMessage(m.role(), m.content()).asMap())
                        .toList();
                return HfTokenizer.this.renderChat(maps, addGenerationPrompt, null);
            }
        };
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
