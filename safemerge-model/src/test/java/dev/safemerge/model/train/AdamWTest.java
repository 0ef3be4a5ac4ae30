package dev.safemerge.model.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import dev.safemerge.tensor.JsonMappers;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Against torch.optim.AdamW, clip_grad_norm_ and LambdaLR (golden values from src/test/python/adamw_golden.py). */
class AdamWTest {
    @Test
    void matchesTorchStepForStepWithClippingAndSchedules() throws IOException {
        JsonNode golden;
        try (InputStream in = getClass().getResourceAsStream("adamw_golden.json")) {
            golden = JsonMappers.plain().readTree(in);
        }
        for (JsonNode c : golden.get("cases")) {
            LrSchedule schedule = LrSchedule.parse(c.get("schedule").asText());
            List<Parameter> parameters = new ArrayList<>();
            for (JsonNode initial : c.get("initial")) {
                parameters.add(new Parameter("p" + parameters.size(), floats(initial), initial.size()));
            }
            AdamW optimizer = new AdamW(
                    parameters,
                    new AdamW.Settings(0.9, 0.999, 1e-8, c.get("weight_decay").asDouble()));
            int steps = c.get("total").asInt();
            for (int step = 0; step < steps; step++) {
                for (int p = 0; p < parameters.size(); p++) {
                    float[] grad = floats(c.get("grads").get(step).get(p));
                    System.arraycopy(grad, 0, parameters.get(p).grad(), 0, grad.length);
                }
                double norm = AdamW.clipGradNorm(parameters, c.get("max_norm").asDouble());
                assertThat(norm).isCloseTo(c.get("norms").get(step).asDouble(), within(1e-5));
                double lr = c.get("lr").asDouble()
                        * schedule.factor(step, c.get("warmup").asInt(), steps);
                assertThat(lr).isCloseTo(c.get("lrs").get(step).asDouble(), within(1e-12));
                optimizer.step(lr);
                for (int p = 0; p < parameters.size(); p++) {
                    float[] expected = floats(c.get("after").get(step).get(p));
                    float[] actual = parameters.get(p).values();
                    for (int i = 0; i < expected.length; i++) {
                        assertThat(actual[i])
                                .as("%s step %d p%d[%d]", c.get("schedule").asText(), step, p, i)
                                .isCloseTo(expected[i], within(2e-6f));
                    }
                }
            }
        }
    }

    @Test
    void schedulesFollowTheHfFormulas() {
        assertThat(LrSchedule.LINEAR.factor(0, 2, 10)).isZero();
        assertThat(LrSchedule.LINEAR.factor(1, 2, 10)).isEqualTo(0.5);
        assertThat(LrSchedule.LINEAR.factor(2, 2, 10)).isEqualTo(1.0);
        assertThat(LrSchedule.LINEAR.factor(6, 2, 10)).isEqualTo(0.5);
        assertThat(LrSchedule.LINEAR.factor(10, 2, 10)).isZero();
        assertThat(LrSchedule.COSINE.factor(6, 2, 10)).isCloseTo(0.5, within(1e-15));
        assertThat(LrSchedule.COSINE.factor(2, 2, 10)).isEqualTo(1.0);
        assertThat(LrSchedule.CONSTANT.factor(5, 0, 10)).isEqualTo(1.0);
    }

    private static float[] floats(JsonNode array) {
        float[] out = new float[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) array.get(i).asDouble();
        }
        return out;
    }
}
