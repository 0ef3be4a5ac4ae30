package dev.safemerge.tensor;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;

/**
 * The one home of Jackson configuration: every module takes its mappers from here instead of configuring its own.
 * The mappers are shared and thread-safe; callers must not reconfigure them.
 */
public final class JsonMappers {
    private static final ObjectMapper STRICT = JsonMapper.builder()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();
    private static final ObjectMapper PLAIN = new ObjectMapper();
    private static final ObjectMapper SORTED = JsonMapper.builder()
            .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS)
            .build();

    private JsonMappers() {}

    /**
     * For checkpoint metadata read as a contract (config.json, safetensors headers, shard indexes, adapter configs): a
     * duplicate key or anything after the top-level value is an error rather than silently resolved.
     */
    public static ObjectMapper strict() {
        return STRICT;
    }

    /** Jackson's defaults: request and response bodies, files this project writes, and tolerant reading. */
    public static ObjectMapper plain() {
        return PLAIN;
    }

    /** {@link #plain()} with map entries written in key order, so reports built from maps are reproducible. */
    public static ObjectMapper sortedKeys() {
        return SORTED;
    }

    /** Indented output of {@link #plain()}, as {@code save_pretrained} and the command summaries write JSON. */
    public static ObjectWriter pretty() {
        return PLAIN.writerWithDefaultPrettyPrinter();
    }

    /** Jackson's defaults over another format's parser factory (YAML merge configurations). */
    public static ObjectMapper over(JsonFactory format) {
        return new ObjectMapper(format);
    }
}
