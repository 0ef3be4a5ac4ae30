package dev.safemerge.tensor;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * A Hugging Face model directory: {@code config.json} plus either one {@code model.safetensors} or shards listed in
 * {@code model.safetensors.index.json}. Every shard is memory-mapped and validated when the directory is opened,
 * and the index is checked against the shards' own headers. Pickled checkpoints ({@code pytorch_model.bin},
 * {@code *.pt}) are refused, never loaded.
 */
public final class ModelDirectory implements TensorSource {
    public static final String CONFIG = "config.json";
    public static final String SINGLE_FILE = "model.safetensors";
    public static final String INDEX = "model.safetensors.index.json";

    /** Files other than weights and config.json that a copied or merged model carries along. */
    public static final List<String> AUXILIARY_FILE_NAMES = List.of(
            "tokenizer.json",
            "tokenizer_config.json",
            "special_tokens_map.json",
            "tokenizer.model",
            "added_tokens.json",
            "vocab.json",
            "merges.txt",
            "vocab.txt",
            "generation_config.json",
            "chat_template.jinja",
            "chat_template.json");

    private static final ObjectMapper JSON = JsonMappers.strict();

    private final Path path;
    private final CheckpointConfig config;
    private final List<SafetensorsFile> shards;
    private final Map<String, SafetensorsFile> shardByTensor;
    private final SortedSet<String> names;

    private ModelDirectory(
            Path path,
            CheckpointConfig config,
            List<SafetensorsFile> shards,
            Map<String, SafetensorsFile> shardByTensor) {
        this.path = path;
        this.config = config;
        this.shards = List.copyOf(shards);
        this.shardByTensor = shardByTensor;
        this.names = Collections.unmodifiableSortedSet(new TreeSet<>(shardByTensor.keySet()));
    }

    /** Opens and validates a model directory; every problem is a one-line {@link BadInputException}. */
    public static ModelDirectory open(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new BadInputException(dir + ": no such directory");
        }
        Path index = dir.resolve(INDEX);
        Path single = dir.resolve(SINGLE_FILE);
        if (!Files.exists(index) && !Files.exists(single)) {
            refuseOtherFormats(dir);
            throw new BadInputException(dir + ": no " + SINGLE_FILE + " or " + INDEX + " (not a Hugging Face model"
                    + " directory with safetensors weights)");
        }
        CheckpointConfig config = CheckpointConfig.read(dir.resolve(CONFIG));
        List<SafetensorsFile> opened = new ArrayList<>();
        try {
            Map<String, SafetensorsFile> byTensor =
                    Files.exists(index) ? openSharded(dir, index, opened) : openSingle(single, opened);
            return new ModelDirectory(dir, config, opened, byTensor);
        } catch (RuntimeException e) {
            opened.forEach(SafetensorsFile::close);
            throw e;
        }
    }

    private static Map<String, SafetensorsFile> openSingle(Path single, List<SafetensorsFile> opened) {
        SafetensorsFile file = SafetensorsFile.open(single);
        opened.add(file);
        Map<String, SafetensorsFile> byTensor = new TreeMap<>();
        for (String name : file.tensorNames()) {
            byTensor.put(name, file);
        }
        return byTensor;
    }

    private static Map<String, SafetensorsFile> openSharded(Path dir, Path index, List<SafetensorsFile> opened) {
        String where = index.toString();
        JsonNode root;
        try {
            root = JSON.readTree(Files.readString(index));
        } catch (IOException e) {
            throw new BadInputException(where + ": not valid JSON: " + BadInputException.firstLine(e.getMessage()), e);
        }
        if (root == null || !root.isObject()) {
            throw new BadInputException(where + ": not a JSON object");
        }
        JsonNode metadata = root.get("metadata");
        if (metadata != null && !metadata.isNull() && !metadata.isObject()) {
            throw new BadInputException(where + ": key 'metadata' must be an object");
        }
        JsonNode weightMap = root.get("weight_map");
        if (weightMap == null || !weightMap.isObject()) {
            throw new BadInputException(where + ": missing object 'weight_map'");
        }
        if (weightMap.isEmpty()) {
            throw new BadInputException(where + ": 'weight_map' lists no tensors");
        }
        Map<String, String> shardOfTensor = new TreeMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = weightMap.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> entry = it.next();
            JsonNode file = entry.getValue();
            if (!file.isTextual()) {
                throw new BadInputException(
                        where + ": weight_map entry '" + entry.getKey() + "' must name a file, got " + file);
            }
            String shardName = file.asText();
            if (!isPlainFileName(shardName)) {
                throw new BadInputException(where + ": weight_map entry '" + entry.getKey() + "' names '" + shardName
                        + "', which is not a file name inside the model directory");
            }
            shardOfTensor.put(entry.getKey(), shardName);
        }
        Map<String, String> firstTensorOfShard = new TreeMap<>();
        shardOfTensor.forEach((tensor, shard) -> firstTensorOfShard.putIfAbsent(shard, tensor));
        Map<String, SafetensorsFile> shardsByName = new TreeMap<>();
        for (String shardName : firstTensorOfShard.keySet()) {
            Path shardPath = dir.resolve(shardName);
            if (!Files.isRegularFile(shardPath)) {
                throw new BadInputException(where + ": weight_map puts tensor '" + firstTensorOfShard.get(shardName)
                        + "' in shard '" + shardName + "', which does not exist");
            }
            SafetensorsFile shard = SafetensorsFile.open(shardPath);
            opened.add(shard);
            shardsByName.put(shardName, shard);
        }
        Map<String, SafetensorsFile> byTensor = new TreeMap<>();
        for (Map.Entry<String, String> entry : shardOfTensor.entrySet()) {
            SafetensorsFile shard = shardsByName.get(entry.getValue());
            if (!shard.contains(entry.getKey())) {
                throw new BadInputException(where + ": weight_map puts tensor '" + entry.getKey() + "' in '"
                        + entry.getValue() + "', which does not contain it");
            }
            byTensor.put(entry.getKey(), shard);
        }
        for (Map.Entry<String, SafetensorsFile> shard : shardsByName.entrySet()) {
            for (String name : shard.getValue().tensorNames()) {
                String mapped = shardOfTensor.get(name);
                if (mapped == null) {
                    throw new BadInputException(where + ": tensor '" + name + "' of shard '" + shard.getKey()
                            + "' is missing from weight_map");
                }
                if (!mapped.equals(shard.getKey())) {
                    throw new BadInputException(where + ": tensor '" + name + "' is in two shards ('" + mapped
                            + "' and '" + shard.getKey() + "')");
                }
            }
        }
        return byTensor;
    }

    private static boolean isPlainFileName(String name) {
        return !name.isEmpty()
                && !name.equals(".")
                && !name.equals("..")
                && name.indexOf('/') < 0
                && name.indexOf('\\') < 0
                && name.indexOf('\0') < 0;
    }

    /** Explains what to do when a directory holds only pickled PyTorch weights. */
    private static void refuseOtherFormats(Path dir) {
        List<String> pickled = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir)) {
            files.map(p -> p.getFileName().toString())
                    .filter(name -> (name.startsWith("pytorch_model") && name.endsWith(".bin"))
                            || name.endsWith(".pt")
                            || name.endsWith(".pth")
                            || name.endsWith(".ckpt"))
                    .sorted()
                    .forEach(pickled::add);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + dir, e);
        }
        if (!pickled.isEmpty()) {
            throw new BadInputException(dir + ": has only pickled PyTorch weights (" + String.join(", ", pickled)
                    + "); pickle files can run arbitrary code when loaded, so safemerge never opens them. Convert once"
                    + " in a trusted Python environment: AutoModelForCausalLM.from_pretrained(dir).save_pretrained(out,"
                    + " safe_serialization=True)");
        }
    }

    public Path path() {
        return path;
    }

    public CheckpointConfig config() {
        return config;
    }

    /** The safetensors files holding the weights, in name order. */
    public List<Path> weightFiles() {
        return shards.stream().map(SafetensorsFile::path).sorted().toList();
    }

    /** True when the weights are split into shards listed in {@code model.safetensors.index.json}. */
    public boolean sharded() {
        return Files.exists(path.resolve(INDEX));
    }

    /** The safetensors file that holds {@code name}. */
    public SafetensorsFile shardOf(String name) {
        SafetensorsFile shard = shardByTensor.get(name);
        if (shard == null) {
            throw new BadInputException(path + ": no tensor named '" + name + "'");
        }
        return shard;
    }

    /** The {@code __metadata__} of the first shard (HF writes {@code {"format": "pt"}}). */
    public Map<String, String> metadata() {
        return shards.isEmpty() ? Map.of() : shards.getFirst().metadata();
    }

    /** Tokenizer, generation and chat-template files present in the directory, sorted by name. */
    public List<Path> auxiliaryFiles() {
        return AUXILIARY_FILE_NAMES.stream()
                .map(path::resolve)
                .filter(Files::isRegularFile)
                .sorted()
                .toList();
    }

    @Override
    public SortedSet<String> tensorNames() {
        return names;
    }

    @Override
    public boolean contains(String name) {
        return shardByTensor.containsKey(name);
    }

    @Override
    public TensorInfo info(String name) {
        return shardOf(name).info(name);
    }

    @Override
    public void readFloats(String name, long firstElement, float[] dst, int dstOffset, int count) {
        shardOf(name).readFloats(name, firstElement, dst, dstOffset, count);
    }

    @Override
    public MemorySegment bytes(String name) {
        return shardOf(name).bytes(name);
    }

    @Override
    public String describe() {
        return path.toString();
    }

    @Override
    public void close() {
        shards.forEach(SafetensorsFile::close);
    }
}
