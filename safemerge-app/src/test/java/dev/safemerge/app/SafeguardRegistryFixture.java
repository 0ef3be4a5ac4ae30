package dev.safemerge.app;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.safemerge.eval.Json;
import dev.safemerge.registry.ModelKind;
import dev.safemerge.registry.ModelVersion;
import dev.safemerge.registry.Registry;
import dev.safemerge.registry.VersionRef;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A registry filled the way users fill it, from the command line: {@code safeguard --registry} on the tiny demo model
 * (a LoRA fine-tune, linear and slerp merges at two λ each, judged answers to harmful and benign prompts and a task,
 * the Pareto selection), which registers the base ({@code base:1}, its folder's name), the adapter
 * ({@code fixture-finetuned:1}), one version per variant ({@code fixture-linear-0.30:1}, …) in the sweeps
 * {@code fixture-linear} and {@code fixture-slerp}, every evaluation and the selection; then a {@code gate} run on the
 * release before this run that promotes it to the alias {@code production}, and {@code registry alias set} moving
 * {@code production} to the selected version through its selection verdict (so that a rollback has somewhere to go).
 */
final class SafeguardRegistryFixture {
    static final String NAME = "fixture";
    static final VersionRef BASE = new VersionRef("base", 1);
    static final VersionRef ADAPTER = new VersionRef(NAME + "-finetuned", 1);

    /**
     * The run's folder, the version the run selected, the variants, and the version the alias pointed at before the
     * selection (the base, or a merge where the run selected the base).
     */
    record Run(Path out, VersionRef selected, List<VersionRef> variants, VersionRef previous) {}

    private SafeguardRegistryFixture() {}

    /**
     * Runs the sweep into {@code dir}/run and registers it in {@code db}; a second database gets the same run (the
     * finished folder is reused, nothing is trained or generated again). The task is the demo's held-out
     * largest-digit lists. Settings are the smallest that still give every page something to show.
     */
    static Run fill(Path dir, String db) throws IOException {
        Path train = dir.resolve("train.jsonl");
        Path heldOut = dir.resolve("largest-digit.jsonl");
        if (!Files.exists(train)) {
            // the demo's benign task (the largest digit of a list), which wears away the base's refusals
            DemoData.FineTuneSets sets = DemoData.fineTune(42, 7, 12);
            DemoData.writeChats(train, sets.train());
            DemoData.writeTask(heldOut, sets.heldOutTask());
        }
        Path out = dir.resolve("run");
        MainTest.Result run = MainTest.run(
                "safeguard",
                "--base",
                SafeguardCommandTest.TINY_BASE,
                "--train",
                train.toString(),
                "--finetune-option=--max-steps=8",
                "--finetune-option=--lr=3e-3",
                "--finetune-option=--batch-size=8",
                "--finetune-option=--lora-r=4",
                "--methods",
                "linear,slerp",
                "--lambdas",
                "0.3,0.7",
                "--safety",
                "harmful=../data/safety/harmful.jsonl",
                "--benign",
                "../data/safety/benign.jsonl",
                "--task",
                "largest-digit=" + heldOut + ":numeric",
                "--select",
                "pareto",
                "--limit",
                "4",
                "--no-system-prompt",
                "--max-new-tokens",
                "12",
                "--threads",
                "1",
                "--keep-models",
                "--registry",
                "--registry-name",
                NAME,
                "--db",
                db,
                "--actor",
                "tester",
                "--out",
                out.toString());
        assertThat(run.code()).as(run.err()).isEqualTo(Main.EXIT_OK);
        JsonNode summary = Json.MAPPER.readTree(out.resolve("summary.json").toFile());
        String selectedName = summary.path("selected").asText();
        assertThat(selectedName).as("the run selects a variant").isNotEmpty();
        VersionRef selected = switch (selectedName) {
            case "base" -> BASE;
            case "finetuned" -> ADAPTER;
            default -> new VersionRef(NAME + "-" + selectedName, 1);
        };
        List<ModelVersion> variants;
        try (Registry registry = Registry.open(db, "tester")) {
            variants = registry.models().stream()
                    .filter(m ->
                            m.ref().name().startsWith(NAME + "-") && !m.ref().equals(ADAPTER))
                    .toList();
        }
        // the release before this run: the base, or a merge when the run selected the base (an adapter cannot be
        // gated by running it)
        VersionRef previous = !selected.equals(BASE)
                ? BASE
                : variants.stream()
                        .filter(m -> m.kind() == ModelKind.MERGE)
                        .findFirst()
                        .orElseThrow()
                        .ref();
        Path harmful = dir.resolve("release-harmful.jsonl");
        Files.write(
                harmful,
                Files.readAllLines(Path.of("../data/safety/harmful.jsonl")).subList(0, 2));
        Path suite = dir.resolve("release.yml");
        Files.writeString(suite, """
                name: release
                version: 1
                harmful: release-harmful.jsonl
                judge: refusal
                protocol: {seed: 42, temperature: 0, max_new_tokens: 8, system_prompt: null}
                rules:
                  min_n: 1
                """);
        MainTest.Result gate = MainTest.run(
                "gate",
                previous.toString(),
                "--suite",
                suite.toString(),
                "--work",
                dir.resolve("gate-runs").toString(),
                "--promote",
                "production",
                "--db",
                db,
                "--actor",
                "tester");
        assertThat(gate.code()).as(gate.out() + gate.err()).isEqualTo(Main.EXIT_OK);
        MainTest.Result moved = MainTest.run(
                "registry", "alias", "set", "production", selected.toString(), "--db", db, "--actor", "tester");
        assertThat(moved.code()).as(moved.err()).isEqualTo(Main.EXIT_OK);
        return new Run(out, selected, variants.stream().map(ModelVersion::ref).toList(), previous);
    }
}
