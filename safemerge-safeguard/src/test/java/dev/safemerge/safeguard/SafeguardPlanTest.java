package dev.safemerge.safeguard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.safemerge.eval.Json;
import dev.safemerge.eval.run.Protocol;
import dev.safemerge.eval.run.ProtocolSettings;
import dev.safemerge.tensor.BadInputException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafeguardPlanTest {
    @TempDir
    Path tmp;

    SafeguardPlan plan(List<Path> adapters) throws IOException {
        return Fixture.plan(Fixture.base(tmp), adapters, List.of("linear"), List.of(0.5), "safety-bound:0.05");
    }

    @Test
    void aWrittenPlanReadsBackAsTheSamePlan() throws IOException {
        SafeguardPlan plan = plan(List.of(Fixture.adapter(tmp, "a", 1))).absolute();
        Path file = tmp.resolve("plan.yml");
        Files.writeString(file, plan.toYaml());
        assertThat(SafeguardPlan.read(file)).isEqualTo(plan);
        assertThat(SafeguardPlan.read(file).toYaml()).isEqualTo(plan.toYaml());
    }

    @Test
    void aPlanWithAPresetAndSamplingOverridesReadsBackTheSameAndResolvesAsEvalDoes() throws IOException {
        SafeguardPlan fixture = plan(List.of(Fixture.adapter(tmp, "a", 1))).absolute();
        SafeguardPlan plan = SafeguardPlanTest.with(
                fixture, "protocol", new ProtocolSettings("plain", "Be brief.", false, 0.7, 0.9, 40, 64, null, 7L));
        Path file = tmp.resolve("sampled.yml");
        Files.writeString(file, plan.toYaml());
        SafeguardPlan read = SafeguardPlan.read(file);
        assertThat(read).isEqualTo(plan);
        assertThat(read.toYaml()).isEqualTo(plan.toYaml());
        assertThat(plan.toYaml())
                .contains("protocol: \"plain\"")
                .contains("top_p: 0.9")
                .contains("top_k: 40");

        Protocol protocol = read.protocol();
        assertThat(protocol.preset()).isEqualTo("plain");
        assertThat(protocol.systemPrompt()).isEqualTo("Be brief.");
        assertThat(protocol.sampling())
                .isEqualTo(Protocol.Preset.PLAIN
                        .sampling()
                        .withTemperature(0.7)
                        .withTopP(0.9)
                        .withTopK(40)
                        .withMaxNewTokens(64)
                        .withSeed(7));
        assertThat(protocol.overrides())
                .containsExactly(
                        "--system Be brief.",
                        "--temperature 0.7",
                        "--top-p 0.9",
                        "--top-k 40",
                        "--max-new-tokens 64",
                        "--seed 7");
        // the protocol's seed is the run's: merges and the validation split use it too
        assertThat(read.seed()).isEqualTo(7);
    }

    @Test
    void aPresetAloneIsThePresetsProtocolWithoutOverrides() throws IOException {
        Fixture.base(tmp);
        Path file = tmp.resolve("plan.yml");
        Files.writeString(file, """
                base: base
                safety: [{name: harmful, path: %s}]
                protocol: demo
                """.formatted(Fixture.HARMFUL.toAbsolutePath()));
        Protocol demo = SafeguardPlan.read(file).protocol();
        assertThat(demo).isEqualTo(Protocol.Preset.DEMO.protocol(null));
        assertThat(demo.overrides()).isEmpty();
        // no preset named: the study's, the default of eval and safeguard
        Files.writeString(file, """
                base: base
                safety: [{name: harmful, path: %s}]
                """.formatted(Fixture.HARMFUL.toAbsolutePath()));
        assertThat(SafeguardPlan.read(file).protocol()).isEqualTo(Protocol.Preset.STUDY.protocol("llama"));
    }

    @Test
    void anUnknownPresetOrAnOutOfRangeSettingIsBadInputBeforeAnyWork() throws IOException {
        SafeguardPlan ok = plan(List.of(Fixture.adapter(tmp, "a", 1)));
        assertThatThrownBy(() -> with(
                                ok,
                                "protocol",
                                new ProtocolSettings("bogus", null, false, null, null, null, null, null, null))
                        .validate())
                .isInstanceOf(BadInputException.class)
                .hasMessage("--protocol bogus: unknown preset; one of [study, plain, demo]");
        assertThatThrownBy(() -> with(
                                ok,
                                "protocol",
                                new ProtocolSettings("study", null, false, null, 1.5, null, null, null, null))
                        .validate())
                .isInstanceOf(BadInputException.class)
                .hasMessageContaining("top-p");
    }

    @Test
    void pathsInAPlanFileAreRelativeToIt() throws IOException {
        Fixture.base(tmp);
        Fixture.adapter(tmp, "a", 1);
        Path file = tmp.resolve("plan.yml");
        Files.writeString(file, """
                base: base
                adapters: [a]
                methods: [linear]
                lambdas: auto
                safety: [{name: harmful, path: %s}]
                select: safety-bound:0.1
                """.formatted(Fixture.HARMFUL.toAbsolutePath()));
        SafeguardPlan plan = SafeguardPlan.read(file);
        assertThat(plan.base()).isEqualTo(tmp.resolve("base").toAbsolutePath().normalize());
        assertThat(plan.autoLambdas()).isTrue();
        plan.validate();
        Files.writeString(file, "base: base\nbogus: 1\n");
        assertThatThrownBy(() -> SafeguardPlan.read(file))
                .isInstanceOf(BadInputException.class)
                .hasMessageContaining("unknown key 'bogus'");
    }

    @Test
    void anAdapterForAnotherBaseIsRefusedBeforeAnyWork() throws IOException {
        // hidden 32 instead of the base's 96: the implied weight shapes differ
        Path wrong = Fixture.adapter(tmp, "wrong", 1, 32, 32);
        assertThatThrownBy(() -> plan(List.of(wrong)).validate())
                .isInstanceOf(BadInputException.class)
                .hasMessageContaining("wrong")
                .hasMessageContaining("shape");
    }

    @Test
    void aFineTuneOfAnotherShapeIsRefused() throws IOException {
        Path base = Fixture.base(tmp);
        Path other = Files.createDirectories(tmp.resolve("other"));
        for (String name : List.of("config.json", "model.safetensors")) {
            Files.copy(base.resolve(name), other.resolve(name));
        }
        var config = (com.fasterxml.jackson.databind.node.ObjectNode)
                Json.MAPPER.readTree(other.resolve("config.json").toFile());
        config.putArray("architectures").add("MistralForCausalLM");
        Files.writeString(other.resolve("config.json"), Json.pretty(config));
        SafeguardPlan plan = Fixture.plan(base, List.of(), List.of("linear"), List.of(0.5), "pareto");
        SafeguardPlan withOther = plan.withFineTune(List.of(), List.of(other));
        assertThatThrownBy(withOther::validate)
                .isInstanceOf(BadInputException.class)
                .hasMessageContaining("architecture");
    }

    @Test
    void emptyPromptSetsUnknownMetricsAndBadCombinationsAreRefused() throws IOException {
        Path adapter = Fixture.adapter(tmp, "a", 1);
        SafeguardPlan ok = plan(List.of(adapter));
        ok.validate();
        Path empty = Files.writeString(tmp.resolve("empty.jsonl"), "");
        assertThatThrownBy(() -> with(ok, "safety", empty).validate())
                .isInstanceOf(BadInputException.class)
                .hasMessageContaining("empty.jsonl");
        Path missing = tmp.resolve("missing.jsonl");
        assertThatThrownBy(() -> with(ok, "safety", missing).validate())
                .isInstanceOf(BadInputException.class)
                .hasMessageContaining("missing.jsonl");
        Path broken = Files.writeString(tmp.resolve("broken.jsonl"), "{\"prompt\": \n");
        assertThatThrownBy(() -> with(ok, "safety", broken).validate())
                .isInstanceOf(BadInputException.class)
                .hasMessageContaining("broken.jsonl");
        assertThatThrownBy(() -> with(ok, "metric", "bogus").validate())
                .isInstanceOf(BadInputException.class)
                .hasMessageContaining("bogus");
        assertThatThrownBy(() -> with(ok, "methods", List.of("model_stock")).validate())
                .isInstanceOf(BadInputException.class)
                .hasMessageContaining("at least 2");
        assertThatThrownBy(() -> with(ok, "lambdas", List.of(0.5, 1.5)).validate())
                .isInstanceOf(BadInputException.class)
                .hasMessageContaining("--lambdas");
    }

    @SuppressWarnings("unchecked")
    static SafeguardPlan with(SafeguardPlan p, String what, Object value) {
        return new SafeguardPlan(
                p.base(),
                p.adapters(),
                p.finetuned(),
                what.equals("methods") ? (List<String>) value : p.methods(),
                what.equals("lambdas") ? (List<Double>) value : p.lambdas(),
                what.equals("safety") ? List.of(new SafeguardPlan.SafetySet("s", (Path) value)) : p.safety(),
                p.benign(),
                what.equals("metric")
                        ? List.of(new SafeguardPlan.TaskSet("t", Fixture.NUMERIC, (String) value))
                        : p.tasks(),
                what.equals("judge") ? (String) value : p.judge(),
                p.judgeModel(),
                p.select(),
                p.limit(),
                what.equals("protocol") ? (ProtocolSettings) value : p.protocolSettings(),
                p.validationFraction(),
                p.density(),
                p.batch(),
                p.threads(),
                p.keepModels());
    }
}
