package dev.safemerge.merge;

import static org.assertj.core.api.Assertions.assertThat;

import dev.safemerge.tensor.DType;
import dev.safemerge.tensor.ModelDirectory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** tokenizer_source: base rebuilds every embedding to the base tokenizer's vocabulary, row by token string. */
class BaseVocabularyTest {
    @TempDir
    Path dir;

    static TinyModels.Tensor filled(long rows, long cols, java.util.function.IntUnaryOperator rowValue) {
        float[] values = new float[(int) (rows * cols)];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                values[(int) (r * cols + c)] = rowValue.applyAsInt(r) + c / 8f;
            }
        }
        return new TinyModels.Tensor(new long[] {rows, cols}, values);
    }

    static void model(Path path, int rows, int offset, String tokenizer) throws IOException {
        Map<String, TinyModels.Tensor> tensors = new LinkedHashMap<>();
        tensors.put("model.embed_tokens.weight", filled(rows, 4, r -> offset + r));
        tensors.put("model.layers.0.input_layernorm.weight", filled(1, 4, r -> offset));
        tensors.put("lm_head.weight", filled(rows, 4, r -> offset - r));
        TinyModels.write(path, tensors, DType.F32, 100_000, 1, rows);
        Files.writeString(path.resolve("tokenizer.json"), tokenizer);
    }

    static String tokenizer(int count, boolean swapOneAndTwo) {
        StringBuilder vocab = new StringBuilder();
        for (int i = 0; i < count; i++) {
            int id = swapOneAndTwo && i == 1 ? 2 : swapOneAndTwo && i == 2 ? 1 : i;
            vocab.append(i == 0 ? "" : ",")
                    .append("\"t")
                    .append(i)
                    .append("\":")
                    .append(id);
        }
        return "{\"model\":{\"type\":\"BPE\",\"vocab\":{" + vocab + "},\"merges\":[]},\"added_tokens\":[]}";
    }

    @Test
    void embeddingsAreRebuiltToTheBaseTokenizerByTokenString() throws IOException {
        // base: 30 tokens in a 32-row (padded) embedding; big: 36 tokens in 40 rows, with t1 and t2 swapped.
        model(dir.resolve("base"), 32, 0, tokenizer(30, false));
        model(dir.resolve("big"), 40, 100, tokenizer(36, true));
        Path config = dir.resolve("merge.yml");
        Files.writeString(config, """
                merge_method: linear
                base_model: base
                tokenizer_source: base
                models:
                  - model: base
                    parameters: {weight: 0.5}
                  - model: big
                    parameters: {weight: 0.5}
                """);
        Path out = dir.resolve("out");
        Merger.run(config, Merger.Options.into(out).maxShardBytes(100_000).build());
        try (ModelDirectory merged = ModelDirectory.open(out)) {
            assertThat(merged.info("model.embed_tokens.weight").shape()).containsExactly(30, 4);
            assertThat(merged.info("lm_head.weight").shape()).containsExactly(30, 4);
            assertThat(merged.config().vocabSize()).isEqualTo(30);
            float[] embed = merged.readFloats("model.embed_tokens.weight");
            for (int row = 0; row < 30; row++) {
                int bigRow = row == 1 ? 2 : row == 2 ? 1 : row;
                for (int c = 0; c < 4; c++) {
                    float want = 0.5f * (row + c / 8f) + 0.5f * (100 + bigRow + c / 8f);
                    assertThat(embed[row * 4 + c]).as("row %d col %d", row, c).isEqualTo(want);
                }
            }
        }
    }
}
