package dev.safemerge.model;

import com.fasterxml.jackson.databind.JsonNode;
import dev.safemerge.tensor.BadInputException;
import dev.safemerge.tensor.SafetensorsFile;
import dev.safemerge.tensor.TensorInfo;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/** The safetensors files of a model directory (one file, or shards listed by model.safetensors.index.json). */
final class Checkpoint implements AutoCloseable {
    private final Map<String, SafetensorsFile> byTensor = new LinkedHashMap<>();
    private final Map<Path, SafetensorsFile> files = new LinkedHashMap<>();
    private final Path dir;

    private Checkpoint(Path dir) {
        this.dir = dir;
    }

    static Checkpoint open(Path dir) {
        Checkpoint checkpoint = new Checkpoint(dir);
        try {
            Path index = dir.resolve("model.safetensors.index.json");
            Path single = dir.resolve("model.safetensors");
            if (Files.isRegularFile(index)) {
                JsonNode weightMap = ModelSpec.readJson(index).get("weight_map");
                if (weightMap == null || !weightMap.isObject()) {
                    throw new BadInputException(index + ": missing object 'weight_map'");
                }
                for (Iterator<Map.Entry<String, JsonNode>> it = weightMap.fields(); it.hasNext(); ) {
                    Map.Entry<String, JsonNode> entry = it.next();
                    String shardName = entry.getValue().asText();
                    Path shard = dir.resolve(shardName).normalize();
                    if (!shard.getParent().equals(dir.normalize()) || !shardName.endsWith(".safetensors")) {
                        throw new BadInputException(index + ": weight_map entry '" + entry.getKey()
                                + "' points outside the model directory: " + shardName);
                    }
                    SafetensorsFile file = checkpoint.files.computeIfAbsent(shard, SafetensorsFile::open);
                    if (!file.contains(entry.getKey())) {
                        throw new BadInputException(index + ": tensor '" + entry.getKey() + "' is not in " + shardName);
                    }
                    checkpoint.byTensor.put(entry.getKey(), file);
                }
            } else if (Files.isRegularFile(single)) {
                SafetensorsFile file = SafetensorsFile.open(single);
                checkpoint.files.put(single, file);
                for (String name : file.tensors().keySet()) {
                    checkpoint.byTensor.put(name, file);
                }
            } else if (Files.isRegularFile(dir.resolve("pytorch_model.bin"))) {
                throw new BadInputException(dir + ": only pickled pytorch_model.bin found; pickles are refused, "
                        + "convert the model to safetensors");
            } else {
                throw new BadInputException(dir + ": no model.safetensors or model.safetensors.index.json");
            }
            return checkpoint;
        } catch (RuntimeException e) {
            checkpoint.close();
            throw e;
        }
    }

    boolean contains(String name) {
        return byTensor.containsKey(name);
    }

    SafetensorsFile fileOf(String name) {
        SafetensorsFile file = byTensor.get(name);
        if (file == null) {
            throw new BadInputException(dir + ": tensor '" + name + "' is missing from the checkpoint");
        }
        return file;
    }

    TensorInfo info(String name) {
        return fileOf(name).info(name);
    }

    @Override
    public void close() {
        for (SafetensorsFile file : files.values()) {
            file.close();
        }
    }
}
