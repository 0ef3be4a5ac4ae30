package dev.safemerge.app;

import static org.assertj.core.api.Assertions.assertThat;

import dev.safemerge.registry.Evaluation;
import dev.safemerge.registry.GateVerdict;
import dev.safemerge.registry.ModelKind;
import dev.safemerge.registry.ModelVersion;
import dev.safemerge.registry.Registry;
import dev.safemerge.registry.TestDatabases;
import dev.safemerge.registry.VersionRef;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class SafeguardRegistrationTest {
    @TempDir
    Path tmp;

    static String[] dialects() {
        return TestDatabases.dialects();
    }

    private String[] args(Path train, Path out, String db, boolean keep) {
        List<String> args = SafeguardCommandTest.smallStudy(train);
        args.addAll(List.of(
                "--select",
                "pareto",
                "--max-new-tokens",
                "4",
                "--registry",
                "--registry-name",
                "study",
                "--db",
                db,
                "--out",
                out.toString()));
        if (keep) {
            args.add("--keep-models");
        }
        return args.toArray(String[]::new);
    }

    @ParameterizedTest
    @MethodSource("dialects")
    void registersEveryVariantEvaluationAndTheSelectionOnce(String dialect) throws Exception {
        String db = TestDatabases.fresh(dialect, tmp);
        Path train = SafeguardCommandTest.trainingFile(tmp);
        Path out = tmp.resolve("run");

        MainTest.Result refused = MainTest.run(args(train, out, db, false));
        assertThat(refused.code()).isEqualTo(Main.EXIT_BAD_INPUT);
        assertThat(refused.err()).contains("--keep-models");
        assertThat(out).doesNotExist();

        MainTest.Result first = MainTest.run(args(train, out, db, true));
        assertThat(first.code()).as(first.err()).isIn(Main.EXIT_OK, Main.EXIT_CHECK_FAILED);
        int models;
        int evaluations;
        int verdicts;
        try (Registry registry = Registry.open(db, null)) {
            ModelVersion baseVersion = registry.model(new VersionRef("base", 1)); // the base folder's name
            ModelVersion tunedVersion = registry.model(new VersionRef("study-finetuned", 1));
            ModelVersion merge = registry.model(new VersionRef("study-linear-0.50", 1));
            assertThat(baseVersion.kind()).isEqualTo(ModelKind.BASE);
            assertThat(tunedVersion.kind()).isEqualTo(ModelKind.ADAPTER);
            assertThat(tunedVersion.location())
                    .isEqualTo(out.resolve("finetune").toString());
            // a linear λ variant of a LoRA fine-tune is never merged: --keep-models keeps its λ-scaled adapter
            assertThat(merge.kind()).isEqualTo(ModelKind.ADAPTER);
            assertThat(merge.location())
                    .isEqualTo(out.resolve("adapters/linear-0.50").toString());
            assertThat(merge.recipe())
                    .contains("merge_method: linear")
                    .contains(out.resolve("finetune").toString());
            assertThat(merge.sweep()).isEqualTo("study-linear");
            assertThat(merge.sweepValue()).isEqualTo(0.5);
            assertThat(registry.lineage(merge.ref()).stream()
                            .filter(e -> e.depth() == 1)
                            .map(e -> e.parent()))
                    .containsExactly(baseVersion.ref(), tunedVersion.ref());
            for (ModelVersion version : List.of(baseVersion, tunedVersion, merge)) {
                List<Evaluation> recorded = registry.evaluations(version.ref());
                assertThat(recorded.stream().map(e -> e.kind() + " " + e.suite()))
                        .containsExactlyInAnyOrder("safety harmful", "over-refusal benign.jsonl", "task add");
                Evaluation safety = recorded.stream()
                        .filter(e -> e.kind().equals("safety"))
                        .findFirst()
                        .orElseThrow();
                // every per-prompt verdict, with the judge's raw output it was read from
                assertThat(registry.items(safety.id()))
                        .hasSize(3)
                        .allSatisfy(item -> assertThat(item.judgeOutput()).contains("refusal string"));
            }
            String selected = first.out()
                    .lines()
                    .filter(l -> l.startsWith("selected "))
                    .findFirst()
                    .map(l -> l.split(" ")[1])
                    .orElse(null);
            if (selected != null) {
                VersionRef ref = selected.equals("base") ? baseVersion.ref() : new VersionRef("study-" + selected, 1);
                List<GateVerdict> gate = registry.gateVerdicts(ref);
                assertThat(gate).hasSize(1);
                assertThat(gate.getFirst().suite()).isEqualTo(GateVerdict.SELECTION);
                assertThat(gate.getFirst().passed()).isTrue();
                assertThat(gate.getFirst().baseline()).isEqualTo(baseVersion.ref());
            }
            models = registry.models().size();
            evaluations = count(registry);
            verdicts = verdicts(registry);
        }
        assertThat(models).isEqualTo(3);

        // the same run again registers nothing new
        MainTest.Result again = MainTest.run(args(train, out, db, true));
        assertThat(again.code()).isEqualTo(first.code());
        assertThat(again.out()).contains("already registered study-linear-0.50:1");
        try (Registry registry = Registry.open(db, null)) {
            assertThat(registry.models()).hasSize(models);
            assertThat(count(registry)).isEqualTo(evaluations);
            assertThat(verdicts(registry)).isEqualTo(verdicts);
            assertThat(registry.verify().ok()).isTrue();
        }
    }

    private static int count(Registry registry) {
        return registry.models().stream()
                .mapToInt(m -> registry.evaluations(m.ref()).size())
                .sum();
    }

    private static int verdicts(Registry registry) {
        return registry.models().stream()
                .mapToInt(m -> registry.gateVerdicts(m.ref()).size())
                .sum();
    }
}
