package dev.safemerge.model.train;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.safemerge.model.Model;
import dev.safemerge.model.ModelLoadOptions;
import dev.safemerge.tensor.JsonMappers;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * An adapter written by this trainer (resources peft/adapter, made by {@link PeftFixture}) applied by an
 * independent numpy implementation of PEFT's LoRA math (src/test/python/peft_lora_check.py, output committed as
 * peft/expected_logits.json) gives the same logits as the engine loading it with --adapter. Both run in float32 with
 * different summation orders, so agreement is to 1e-4 relative to the logit scale.
 */
class PeftCompatibilityTest {
    @Test
    void engineWithAdapterMatchesIndependentPeftMath() throws IOException {
        JsonNode expected;
        try (InputStream in = getClass().getResourceAsStream("peft/expected_logits.json")) {
            expected = JsonMappers.plain().readTree(in);
        }
        int[] ids = new int[expected.get("ids").size()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = expected.get("ids").get(i).asInt();
        }
        assertThat(expected.get("modules")).hasSize(6);
        Path adapter = Path.of("src/test/resources/dev/safemerge/model/train/peft/adapter");
        Path model = Path.of("src/test/resources/reference/models/llama_f32_gqa");
        float[][] engine;
        try (Model loaded = Model.load(model, ModelLoadOptions.defaults().withAdapter(adapter, false))) {
            engine = loaded.forward(ids);
        }
        double scale = 0;
        double difference = 0;
        double adapterEffect = 0;
        for (int t = 0; t < ids.length; t++) {
            JsonNode row = expected.get("logits").get(t);
            JsonNode baseRow = expected.get("base_logits").get(t);
            for (int v = 0; v < row.size(); v++) {
                scale = Math.max(scale, Math.abs(row.get(v).asDouble()));
                difference =
                        Math.max(difference, Math.abs(engine[t][v] - row.get(v).asDouble()));
                adapterEffect = Math.max(
                        adapterEffect,
                        Math.abs(row.get(v).asDouble() - baseRow.get(v).asDouble()));
            }
        }
        assertThat(adapterEffect).as("the trained adapter changes the logits").isGreaterThan(0.05 * scale);
        assertThat(difference).isLessThan(1e-4 * Math.max(1, scale));
    }
}
