package dev.safemerge.merge;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.safemerge.merge.config.ConfigParser;
import dev.safemerge.merge.config.MergeConfig;
import dev.safemerge.merge.config.Setting;
import dev.safemerge.tensor.BadInputException;
import dev.safemerge.tensor.DType;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ConfigParserTest {
    static MergeConfig parse(String yaml, List<String> warnings) {
        return ConfigParser.parse(yaml, Path.of("c.yml"), Path.of("/models"), warnings::add);
    }

    @Test
    void gradientsInterpolateAndConditionsFallThroughInOrder() {
        Setting gradient = new Setting.Gradient(new double[] {0, 0.5, 0.3, 0.7, 1});
        assertThat(gradient.evaluate("x", 0)).isEqualTo(0);
        assertThat(gradient.evaluate("x", 1)).isEqualTo(1);
        assertThat(gradient.evaluate("x", 0.5)).isEqualTo(0.3);
        assertThat(gradient.evaluate("x", 0.125)).isEqualTo(0.25); // x = 0.5 between points 0 and 1
        Setting conditions = new Setting.Conditional(List.of(
                new Setting.Condition("self_attn", gradient), new Setting.Condition("mlp", new Setting.Constant(2))));
        assertThat(conditions.evaluate("model.layers.0.self_attn.q_proj.weight", 1))
                .isEqualTo(1);
        assertThat(conditions.evaluate("model.layers.0.mlp.up_proj.weight", 1)).isEqualTo(2);
        assertThat(conditions.evaluate("model.norm.weight", 1))
                .as("no match: next level")
                .isNull();
    }

    @Test
    void numbersWrittenAsStringsAndBooleansAreCoercedLikePydantic() {
        List<String> warnings = new ArrayList<>();
        MergeConfig config = parse("""
                merge_method: della
                base_model: base
                dtype: torch.bfloat16
                out_dtype: float32
                models:
                  - model: ft+lora
                    parameters: {weight: "0.5", density: 1e-1, epsilon: 5e-2, lambda: 2}
                parameters: {normalize: yes, rescale: false}
                """, warnings);
        assertThat(config.dtype()).isEqualTo(DType.BF16);
        assertThat(config.outDtype()).isEqualTo(DType.F32);
        MergeConfig.Source source = config.models().getFirst();
        assertThat(source.parameters().get("weight").evaluate("x", 0)).isEqualTo(0.5);
        assertThat(source.parameters().get("density").evaluate("x", 0)).isEqualTo(0.1);
        assertThat(config.parameters().get("normalize").evaluate("x", 0)).isEqualTo(1.0);
        assertThat(source.model().adapter()).isEqualTo(Path.of("/models/lora"));
        assertThat(source.model().path()).isEqualTo(Path.of("/models/ft"));
        // lambda is global: mergekit ignores it under a model, and says nothing; here it is a warning
        assertThat(source.parameters()).doesNotContainKey("lambda");
        assertThat(warnings).singleElement().asString().contains("models[0].parameters.lambda");
    }

    @Test
    void shapeErrorsNameTheKey() {
        String[][] cases = {
            {"merge_method: linear\nmodels: {a: 1}\n", "c.yml: models: expected a non-empty list"},
            {
                "merge_method: linear\nslices: [{sources: [{model: a, layer_range: [0, 2]}, {model: b, layer_range: [0, 3]}]}]\n",
                "slices[0].sources[1].layer_range: spans 3 layers"
            },
            {
                "merge_method: linear\nmodels: [{model: a, parameters: {weight: [{filter: x}]}}]\n",
                "models[0].parameters.weight[0].value: missing"
            },
            {"merge_method: slerp\nmodels: [{model: a}]\nbase_model: a\ndtype: int4\n", "dtype: unknown dtype 'int4'"},
            {
                "merge_method: linear\nmodels: [{model: a}]\ntokenizer_source: union\n",
                "tokenizer_source: 'union' needs a tokenizer merge"
            },
            {"merge_method: linear\nmodels: [{model: a}]\nslices: []\n", "exactly one of 'models' or 'slices'"},
            {"merge_method: linear\nmodels: [{model: a, paramters: {}}]\n", "models[0].paramters: unknown key"},
            {"merge_method: linear\nmodels: [model: a\n", "c.yml: line"},
        };
        for (String[] c : cases) {
            assertThatThrownBy(() -> parse(c[0], new ArrayList<>()))
                    .as(c[0])
                    .isInstanceOf(BadInputException.class)
                    .hasMessageContaining(c[1])
                    .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
        }
    }

    /** mergekit's della_magprune needs density ± epsilon inside (0, 1) when 0 < density < 1; checked at parse time. */
    @Test
    void dellaDensityPlusMinusEpsilonOutsideZeroOneIsRefusedAtParseNamingTheEntry() {
        String[][] refused = {
            {"models: [{model: ft, parameters: {weight: 1, density: 0.5, epsilon: 0.6}}]", "c.yml: models[0]: della:"},
            {"models: [{model: ft, parameters: {weight: 1, density: 0.9}}]", "epsilon from the default"},
            {
                "models: [{model: ft, parameters: {weight: 1, density: 0.1}}]\nparameters: {epsilon: 0.1}",
                "epsilon from parameters.epsilon"
            },
            {
                "slices: [{sources: [{model: base, layer_range: [0, 2]}, {model: ft, layer_range: [0, 2],"
                        + " parameters: {weight: 1}}], parameters: {density: 0.05}}]",
                "c.yml: slices[0].sources[1]: della: della needs 0 < density - epsilon and density + epsilon < 1"
                        + " (density 0.05, epsilon 0.15); weight from slices[0].sources[1].parameters.weight,"
                        + " density from slices[0].parameters.density, epsilon from the default"
            },
        };
        for (String[] c : refused) {
            String yaml = "merge_method: della\nbase_model: base\n" + c[0] + "\n";
            assertThatThrownBy(() -> parse(yaml, new ArrayList<>()))
                    .as(yaml)
                    .isInstanceOf(BadInputException.class)
                    .hasMessageContaining(c[1])
                    .hasMessageContaining("della needs 0 < density - epsilon and density + epsilon < 1")
                    .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
        }
        String[] accepted = {
            // density 1 leaves the task vector untouched and 0 zeroes it: epsilon is then not used, as in mergekit
            "models: [{model: ft, parameters: {weight: 1, density: 1, epsilon: 0.5}}]",
            "models: [{model: ft, parameters: {weight: 1, density: 0, epsilon: 0.5}}]",
            "models: [{model: ft, parameters: {weight: 1, density: 0.5, epsilon: 0.49}}]",
            // the base model is not pruned
            "models: [{model: base, parameters: {density: 0.5, epsilon: 0.6}}, {model: ft, parameters: {weight: 1}}]",
        };
        for (String models : accepted) {
            assertThat(parse("merge_method: della\nbase_model: base\n" + models + "\n", new ArrayList<>())
                            .method()
                            .name())
                    .isEqualTo("della");
        }
        // della_linear prunes the same way
        assertThatThrownBy(() -> parse(
                        "merge_method: della_linear\nbase_model: base\nmodels: [{model: ft, parameters: {weight: 1,"
                                + " density: 0.95}}]\n",
                        new ArrayList<>()))
                .hasMessageContaining("c.yml: models[0]: della_linear: della needs");
    }

    @Test
    void everyMethodDeclaresItsParametersOnce() {
        for (MergeMethod method : MethodRegistry.all().values()) {
            List<String> names =
                    method.parameters().stream().map(ParameterSpec::name).toList();
            assertThat(names).as(method.name()).doesNotHaveDuplicates();
        }
        assertThat(MethodRegistry.all()).hasSize(18);
        assertThat(MethodRegistry.find("ties").parameters())
                .contains(ParameterSpec.flag("normalize", true), ParameterSpec.flag("rescale", false));
        assertThat(MethodRegistry.find("dare_ties").parameters())
                .contains(ParameterSpec.flag("normalize", false), ParameterSpec.flag("rescale", true));
        assertThat(MethodRegistry.find("della").parameters())
                .contains(
                        ParameterSpec.flag("normalize", true),
                        ParameterSpec.number("epsilon", ParameterSpec.Scope.PER_MODEL, 0.15)
                                .within(0, 1));
        assertThat(MethodRegistry.find("breadcrumbs").parameters())
                .contains(ParameterSpec.number("gamma", ParameterSpec.Scope.PER_MODEL, 0.01)
                        .within(0, 1));
    }
}
