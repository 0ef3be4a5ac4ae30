package dev.safemerge.merge;

import com.fasterxml.jackson.databind.JsonNode;
import dev.safemerge.tensor.BadInputException;
import dev.safemerge.tensor.JsonMappers;
import dev.safemerge.tensor.TensorInfo;
import dev.safemerge.tensor.TensorSource;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * {@code tokenizer_source: base}: the output vocabulary is the base tokenizer's, and every model's embedding and
 * lm_head are rebuilt to it before merging, row by token string: a model's own row when its tokenizer has the token
 * (below its embedding size), else the base model's row (mergekit's default when the base has the token). Rows are
 * remapped on read, so nothing is materialised.
 */
final class BaseVocabulary {
    private BaseVocabulary() {}

    /** Token string to id from a tokenizer.json: the model vocabulary plus added tokens. */
    static Map<String, Integer> tokens(Path modelDir) {
        Path file = modelDir.resolve("tokenizer.json");
        if (!Files.isRegularFile(file)) {
            throw new BadInputException(file + ": missing; tokenizer_source: base maps embedding rows by token and"
                    + " needs every model's tokenizer.json");
        }
        JsonNode root;
        try {
            root = JsonMappers.plain().readTree(file.toFile());
        } catch (IOException e) {
            throw new BadInputException(file + ": not valid JSON: " + e.getMessage(), e);
        }
        Map<String, Integer> tokens = new HashMap<>();
        JsonNode vocab = root.path("model").path("vocab");
        if (vocab.isObject()) {
            vocab.properties().forEach(e -> tokens.put(e.getKey(), e.getValue().asInt()));
        } else if (vocab.isArray()) {
            // Unigram: [[piece, score], ...], the id is the position
            for (int i = 0; i < vocab.size(); i++) {
                tokens.put(vocab.get(i).path(0).asText(), i);
            }
        } else {
            throw new BadInputException(file + ": model.vocab is neither a map nor a list");
        }
        for (JsonNode added : root.path("added_tokens")) {
            tokens.put(added.path("content").asText(), added.path("id").asInt());
        }
        return tokens;
    }

    /** Rows of the output vocabulary in base id order: for each base id, the model's id of the same token or -1. */
    static int[] rowMap(Map<String, Integer> base, Map<String, Integer> model, long modelRows) {
        int size = base.size();
        int[] map = new int[size];
        java.util.Arrays.fill(map, -1);
        for (Map.Entry<String, Integer> entry : base.entrySet()) {
            int id = entry.getValue();
            if (id < 0 || id >= size) {
                throw new BadInputException("base tokenizer id " + id + " of token '" + entry.getKey()
                        + "' is outside 0.." + (size - 1) + " (ids are not contiguous)");
            }
            Integer own = model.get(entry.getKey());
            if (own != null && own >= 0 && own < modelRows) {
                map[id] = own;
            }
        }
        return map;
    }

    /** A model whose embedding-like tensors are presented with the output vocabulary's rows. */
    static final class Remapped implements TensorSource {
        private final TensorSource model;
        private final TensorSource base;
        private final int[] rows;

        Remapped(TensorSource model, TensorSource base, int[] rows) {
            this.model = model;
            this.base = base;
            this.rows = rows;
        }

        private boolean remapped(String name) {
            return TensorNames.isEmbedding(name) && model.info(name).rank() == 2;
        }

        @Override
        public Set<String> tensorNames() {
            return model.tensorNames();
        }

        @Override
        public boolean contains(String name) {
            return model.contains(name);
        }

        @Override
        public TensorInfo info(String name) {
            TensorInfo info = model.info(name);
            if (!remapped(name)) {
                return info;
            }
            long[] shape = {rows.length, info.dim(1)};
            long bytes = rows.length * info.dim(1) * info.dtype().byteSize();
            return new TensorInfo(name, info.dtype(), shape, 0, bytes);
        }

        @Override
        public void readFloats(String name, long firstElement, float[] dst, int dstOffset, int count) {
            if (!remapped(name)) {
                model.readFloats(name, firstElement, dst, dstOffset, count);
                return;
            }
            long cols = model.info(name).dim(1);
            long element = firstElement;
            int offset = dstOffset;
            int left = count;
            while (left > 0) {
                int row = (int) (element / cols);
                int col = (int) (element % cols);
                int n = (int) Math.min(cols - col, left);
                int own = rows[row];
                if (own >= 0) {
                    model.readFloats(name, own * cols + col, dst, offset, n);
                } else if (base.contains(name)
                        && row < base.info(name).dim(0)
                        && base.info(name).dim(1) == cols) {
                    base.readFloats(name, row * cols + col, dst, offset, n);
                } else {
                    java.util.Arrays.fill(dst, offset, offset + n, 0f);
                }
                element += n;
                offset += n;
                left -= n;
            }
        }

        @Override
        public MemorySegment bytes(String name) {
            if (remapped(name)) {
                throw new UnsupportedOperationException("remapped embeddings are computed on read");
            }
            return model.bytes(name);
        }

        @Override
        public String describe() {
            return model.describe() + " (rows in the base vocabulary)";
        }

        @Override
        public void close() {}
    }
}
