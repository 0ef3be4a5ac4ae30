package dev.safemerge.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.safemerge.model.Model;
import dev.safemerge.model.ModelLoadOptions;
import dev.safemerge.tensor.DType;
import dev.safemerge.tensor.ModelDirectory;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DemoJoinTest {
    private static final List<String> TEXTS = DemoData.texts(DemoData.baseTrain(1));

    @TempDir
    Path dir;

    @Test
    void twoCopiesOfOneMemberJoinedComputeWhatTheMemberComputes() {
        // With identical members every block of the wide residual stream is the same, so the shared RMS norm is each
        // member's own and the averaged lm_head gives the member's logits: only the order of float sums differs.
        Path member = DemoBaseModel.writeInitial(dir.resolve("member"), 5, TEXTS);
        Path one = dir.resolve("one");
        Path two = dir.resolve("two");
        DemoBaseModel.join(List.of(member), one, Map.of());
        DemoBaseModel.join(List.of(member, member), two, Map.of());
        int[] ids = {DemoTokenizer.BOS, 300, 301, 302, 400, 500, 7, 8, DemoTokenizer.EOS, 259};
        try (Model single = Model.load(one, ModelLoadOptions.defaults());
                Model joined = Model.load(two, ModelLoadOptions.defaults())) {
            assertThat(joined.config().hiddenSize()).isEqualTo(2 * DemoBaseModel.HIDDEN);
            float[][] expected = single.forward(ids);
            float[][] actual = joined.forward(ids);
            for (int t = 0; t < ids.length; t++) {
                double scale = 0;
                for (float v : expected[t]) {
                    scale = Math.max(scale, Math.abs(v));
                }
                // float32 sums of at most INTERMEDIATE · 2 terms, taken in another order: relative error ≤ n · 2^-24.
                double bound = 2 * DemoBaseModel.INTERMEDIATE * Math.ulp(1f) * Math.max(scale, 1);
                for (int v = 0; v < expected[t].length; v++) {
                    assertThat((double) actual[t][v])
                            .as("position %d, token %d", t, v)
                            .isCloseTo(expected[t][v], within(bound));
                }
            }
        }
    }

    @Test
    void eachMemberOwnsItsBlockAndTheLogitsAreAveraged() throws Exception {
        Path first = DemoBaseModel.writeInitial(dir.resolve("m0"), 5, TEXTS);
        Path second = DemoBaseModel.writeInitial(dir.resolve("m1"), 6, TEXTS);
        Path joined = dir.resolve("joined");
        DemoBaseModel.join(List.of(first, second), joined, Map.of("training.json", "{}".getBytes()));
        int h = DemoBaseModel.HIDDEN;
        try (ModelDirectory a = ModelDirectory.open(first);
                ModelDirectory b = ModelDirectory.open(second);
                ModelDirectory wide = ModelDirectory.open(joined)) {
            String q = "model.layers.1.self_attn.q_proj.weight";
            assertThat(wide.info(q).dtype()).isEqualTo(DType.BF16);
            assertThat(wide.info(q).shape()).containsExactly(2L * h, 2L * h);
            float[] w = wide.readFloats(q);
            float[] wa = a.readFloats(q);
            float[] wb = b.readFloats(q);
            for (int r = 0; r < h; r++) {
                for (int c = 0; c < h; c++) {
                    assertBf16(w[r * 2 * h + c], wa[r * h + c]);
                    assertBf16(w[(h + r) * 2 * h + h + c], wb[r * h + c]);
                    assertThat(w[r * 2 * h + h + c]).isZero();
                    assertThat(w[(h + r) * 2 * h + c]).isZero();
                }
            }
            String down = "model.layers.0.mlp.down_proj.weight";
            assertThat(wide.info(down).shape()).containsExactly(2L * h, 2L * DemoBaseModel.INTERMEDIATE);
            String head = "lm_head.weight";
            int vocab = (int) a.info(head).shape()[0];
            float[] lm = wide.readFloats(head);
            float[] la = a.readFloats(head);
            float[] lb = b.readFloats(head);
            for (int r = 0; r < vocab; r++) {
                for (int c = 0; c < h; c++) {
                    assertBf16(lm[r * 2 * h + c], la[r * h + c] / 2);
                    assertBf16(lm[r * 2 * h + h + c], lb[r * h + c] / 2);
                }
            }
            assertThat(wide.info("model.norm.weight").shape()).containsExactly(2L * h);
        }
        JsonNode config =
                new ObjectMapper().readTree(joined.resolve("config.json").toFile());
        assertThat(config.get("hidden_size").asInt()).isEqualTo(2 * h);
        assertThat(config.get("num_attention_heads").asInt()).isEqualTo(2 * DemoBaseModel.HEADS);
        assertThat(config.get("num_key_value_heads").asInt()).isEqualTo(2 * DemoBaseModel.KV_HEADS);
        assertThat(config.get("head_dim").asInt()).isEqualTo(h / DemoBaseModel.HEADS);
        assertThat(config.get("torch_dtype").asText()).isEqualTo("bfloat16");
        assertThat(joined.resolve("training.json")).hasContent("{}");
        assertThat(joined.resolve("tokenizer.json")).hasSameBinaryContentAs(first.resolve("tokenizer.json"));
    }

    /** BF16 keeps 8 significant bits: round to nearest is within half a unit of the last, at most 2^-8 relative. */
    private static void assertBf16(float stored, float exact) {
        assertThat((double) stored).isCloseTo(exact, within(Math.abs(exact) * 0x1p-8 + Float.MIN_NORMAL));
    }
}
