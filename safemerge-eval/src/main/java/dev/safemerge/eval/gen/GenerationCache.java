package dev.safemerge.eval.gen;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.safemerge.eval.Json;
import dev.safemerge.model.generate.Sampling;
import dev.safemerge.tensor.BadInputException;
import dev.safemerge.tensor.DiskWrites;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;
import java.util.Optional;

/**
 * Responses already generated, keyed by a hash of (model identity, request, sampling parameters), kept in an
 * append-only JSONL file that is fsync'd after every record. A run that was killed, or is repeated, finds every
 * finished response here and never generates it again. A torn last line (killed mid-write) is dropped on open.
 * The file and its folder are created with the first record, so a run that fails before answering anything leaves
 * nothing behind.
 */
public final class GenerationCache implements AutoCloseable {
    private final Path file;
    private final Map<String, String> responses = new HashMap<>();
    private FileChannel channel;

    private GenerationCache(Path file) {
        this.file = file;
    }

    public static GenerationCache open(Path file) {
        Path absolute = file.toAbsolutePath();
        if (Files.exists(absolute) && !Files.isRegularFile(absolute)) {
            throw new BadInputException(absolute + ": the generation cache exists and is not a file");
        }
        if (Files.exists(absolute.getParent()) && !Files.isDirectory(absolute.getParent())) {
            throw new BadInputException(absolute.getParent() + ": exists and is not a directory");
        }
        GenerationCache cache = new GenerationCache(absolute);
        try {
            if (Files.exists(absolute)) {
                cache.openChannel();
                cache.load();
            }
            return cache;
        } catch (IOException e) {
            cache.close();
            throw new UncheckedIOException("cannot open generation cache " + file, e);
        }
    }

    private void openChannel() throws IOException {
        Files.createDirectories(file.getParent());
        channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
    }

    private void load() throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        int complete = 0;
        int lineNumber = 0;
        int start = 0;
        for (int i = 0; i < bytes.length; i++) {
            if (bytes[i] != '\n') {
                continue;
            }
            lineNumber++;
            String line = new String(bytes, start, i - start, StandardCharsets.UTF_8);
            start = i + 1;
            complete = start;
            if (line.isBlank()) {
                continue;
            }
            try {
                JsonNode record = Json.MAPPER.readTree(line);
                responses.put(record.get("key").asText(), record.get("response").asText());
            } catch (JsonProcessingException | NullPointerException e) {
                throw new BadInputException(file + ":" + lineNumber + ": not a generation cache record");
            }
        }
        // Everything after the last newline is a record cut short by a kill; it was never acknowledged.
        channel.truncate(complete);
        channel.position(complete);
    }

    public static String key(String modelIdentity, GenerationRequest request, Sampling params) {
        ObjectNode node = Json.object();
        node.put("model", modelIdentity);
        node.set("request", requestJson(request));
        node.set("params", params.toJson());
        try {
            byte[] digest =
                    MessageDigest.getInstance("SHA-256").digest(Json.line(node).getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static JsonNode requestJson(GenerationRequest request) {
        ObjectNode node = Json.object();
        switch (request) {
            case GenerationRequest.Chat chat -> node.set("messages", Json.MAPPER.valueToTree(chat.messages()));
            case GenerationRequest.Raw raw -> node.put("prompt", raw.prompt());
        }
        return node;
    }

    public synchronized Optional<String> get(String key) {
        return Optional.ofNullable(responses.get(key));
    }

    public synchronized int size() {
        return responses.size();
    }

    /** Appends one record and forces it to disk before returning. */
    public synchronized void put(String key, String modelIdentity, GenerationRequest request, String response) {
        if (responses.containsKey(key)) {
            return;
        }
        ObjectNode record = Json.object();
        record.put("key", key);
        record.put("model", modelIdentity);
        record.set("request", requestJson(request));
        record.put("response", response);
        ByteBuffer bytes = ByteBuffer.wrap((Json.line(record) + "\n").getBytes(StandardCharsets.UTF_8));
        long start = -1;
        try {
            if (channel == null) {
                openChannel();
            }
            start = channel.position();
            DiskWrites.write(channel, file, bytes);
            channel.force(false);
        } catch (IOException e) {
            // a write cut short (a full disk) is undone, so that a later append cannot follow a torn line
            if (start >= 0) {
                try {
                    channel.truncate(start);
                    channel.position(start);
                } catch (IOException suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            throw new UncheckedIOException("cannot append to generation cache " + file, e);
        }
        responses.put(key, response);
    }

    @Override
    public synchronized void close() {
        try {
            if (channel != null) {
                channel.close();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
