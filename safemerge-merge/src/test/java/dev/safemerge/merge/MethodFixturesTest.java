package dev.safemerge.merge;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.safemerge.merge.kernel.Precision;
import dev.safemerge.tensor.DType;
import dev.safemerge.tensor.JsonMappers;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Every method against golden values from src/test/python/method_fixtures.py, an independent numpy implementation of
 * the mergekit rules, in float32 and bfloat16. Random pruning gets the fixture's uniforms, so its masks are exact.
 */
class MethodFixturesTest {
    static JsonNode fixtures() throws IOException {
        try (InputStream in = MethodFixturesTest.class.getResourceAsStream("method-fixtures.json")) {
            return JsonMappers.plain().readTree(in);
        }
    }

    @TestFactory
    Stream<DynamicTest> everyMethodMatchesTheIndependentImplementation() throws IOException {
        List<DynamicTest> tests = new ArrayList<>();
        for (JsonNode fixture : fixtures().get("cases")) {
            tests.add(DynamicTest.dynamicTest(fixture.get("name").asText(), () -> check(fixture)));
        }
        assertThat(tests).hasSizeGreaterThan(60);
        return tests.stream();
    }

    @TestFactory
    Stream<DynamicTest> fixturesCoverEveryRegisteredMethod() throws IOException {
        JsonNode cases = fixtures().get("cases");
        return MethodRegistry.all().keySet().stream()
                .map(name -> DynamicTest.dynamicTest(name, () -> {
                    boolean covered = false;
                    for (JsonNode fixture : cases) {
                        covered |= fixture.get("method").asText().equals(name);
                    }
                    assertThat(covered).as("fixture for " + name).isTrue();
                }));
    }

    private static void check(JsonNode fixture) {
        MergeMethod method = MethodRegistry.find(fixture.get("method").asText());
        Precision precision =
                Precision.of(DType.fromTorchName(fixture.get("dtype").asText()));
        long[] shape = new long[fixture.get("shape").size()];
        for (int i = 0; i < shape.length; i++) {
            shape[i] = fixture.get("shape").get(i).asLong();
        }
        int baseIndex = fixture.get("base_index").asInt();
        List<MergeInput> inputs = new ArrayList<>();
        int index = 0;
        for (JsonNode input : fixture.get("inputs")) {
            Map<String, Double> params = new HashMap<>();
            input.get("params")
                    .properties()
                    .forEach(e -> params.put(e.getKey(), e.getValue().asDouble()));
            if (index != baseIndex) {
                for (ParameterSpec spec : method.parameters()) {
                    if (spec.scope() == ParameterSpec.Scope.PER_MODEL && spec.defaultValue() != null) {
                        params.putIfAbsent(spec.name(), spec.defaultValue());
                    }
                }
            }
            inputs.add(new MergeInput(input.get("model").asText(), floats(input.get("values")), new Params(params)));
            index++;
        }
        Map<String, Double> global = new HashMap<>();
        fixture.get("global")
                .properties()
                .forEach(e -> global.put(
                        e.getKey(),
                        e.getValue().isBoolean()
                                ? (e.getValue().asBoolean() ? 1.0 : 0.0)
                                : e.getValue().asDouble()));
        Map<String, float[]> uniforms = new HashMap<>();
        fixture.get("uniforms").properties().forEach(e -> uniforms.put(e.getKey(), floats(e.getValue())));
        MaskSource masks = (model, dst) -> System.arraycopy(uniforms.get(model), 0, dst, 0, dst.length);
        TensorGroup group = new TensorGroup(
                fixture.get("name").asText(), shape, false, inputs, baseIndex, new Params(global), precision, masks);

        float[] actual = method.merge(group);
        float[] expected = floats(fixture.get("expected"));
        int ulps = fixture.get("tolerance_ulps").asInt();
        boolean float32Result = precision == Precision.F32 || method.promotesToFloat32();
        assertThat(actual).hasSize(expected.length);
        for (int i = 0; i < expected.length; i++) {
            if (ulps == 0) {
                assertThat(actual[i]).as("element %d", i).isEqualTo(expected[i]);
            } else {
                float ulp = Math.ulp(Math.max(Math.abs(expected[i]), 1e-3f)) * (float32Result ? 1 : 65536);
                assertThat(Math.abs(actual[i] - expected[i]))
                        .as("element %d: %s vs %s", i, actual[i], expected[i])
                        .isLessThanOrEqualTo(ulps * ulp);
            }
            if (!float32Result) {
                assertThat(precision.round(actual[i]))
                        .as("rounded to the working dtype")
                        .isEqualTo(actual[i]);
            }
        }
    }

    private static float[] floats(JsonNode array) {
        float[] values = new float[array.size()];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) array.get(i).asDouble();
        }
        return values;
    }
}
