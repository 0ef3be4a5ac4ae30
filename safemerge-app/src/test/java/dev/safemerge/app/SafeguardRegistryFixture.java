package dev.safemerge.app;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.safemerge.eval.Json;
import dev.safemerge.registry.GateVerdict;
import dev.safemerge.registry.ModelKind;
import dev.safemerge.registry.NewModel;
import dev.safemerge.registry.Registry;
import dev.safemerge.registry.VersionRef;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A registry filled by a real safeguard run on the tiny demo model: a two-step LoRA fine-tune, linear and slerp
 * merges at two λ each, judged answers to harmful and benign prompts and a task, the Pareto selection. The run's
 * models and evaluations are registered through the registry's API and {@link EvalRegistration}, as {@code eval
 * --register} records them: the base ({@code demo:1}), the adapter ({@code demo-ft:1}), one version of
 * {@code demo-safe} per merge in the sweeps {@code fixture-linear} and {@code fixture-slerp}, the selection as a gate
 * verdict of suite {@code selection}, and the alias {@code production} moved from the base to the selected variant
 * after an earlier release (so that a rollback has somewhere to go).
 */
final class SafeguardRegistryFixture {
    static final VersionRef BASE = new VersionRef("demo", 1);
    static final VersionRef ADAPTER = new VersionRef("demo-ft", 1);
    static final String SAFETY_SET = "harmful";
    static final String TASK_SET = "largest-digit";

    /**
     * The run's folder, the version the run selected, the merges, and the version the alias pointed at before the
     * selection (the base, or the fine-tune where the run selected the base).
     */
    record Run(Path out, VersionRef selected, List<VersionRef> variants, VersionRef previous) {}

    private SafeguardRegistryFixture() {}

    /** Runs the sweep into {@code dir}/run; the task is the demo's held-out largest-digit lists. */
    static Path runSafeguard(Path dir) throws IOException {
        // the demo's benign task (the largest digit of a list), which wears away the base's refusals
        DemoData.FineTuneSets sets = DemoData.fineTune(42, 7, 12);
        Path train = dir.resolve("train.jsonl");
        DemoData.writeChats(train, sets.train());
        Path heldOut = dir.resolve("largest-digit.jsonl");
        DemoData.writeTask(heldOut, sets.heldOutTask());
        Path out = dir.resolve("run");
        MainTest.Result run = MainTest.run(
                "safeguard",
                "--base",
                SafeguardCommandTest.DEMO_BASE,
                "--train",
                train.toString(),
                "--finetune-option=--max-steps=24",
                "--finetune-option=--lr=3e-3",
                "--finetune-option=--batch-size=8",
                "--finetune-option=--lora-r=8",
                "--methods",
                "linear,slerp",
                "--lambdas",
                "0.3,0.7",
                "--safety",
                SAFETY_SET + "=../data/safety/harmful.jsonl",
                "--benign",
                "../data/safety/benign.jsonl",
                "--task",
                TASK_SET + "=" + heldOut + ":numeric",
                "--select",
                "pareto",
                "--limit",
                "6",
                "--no-system-prompt",
                "--max-new-tokens",
                "24",
                "--threads",
                "1",
                "--keep-models",
                "--out",
                out.toString());
        assertThat(run.code()).as(run.err()).isEqualTo(Main.EXIT_OK);
        return out;
    }

    /** Registers the run in {@code out} (from {@link #runSafeguard}) with an open registry. */
    static Run register(Registry registry, Path out) throws IOException {
        JsonNode summary = Json.MAPPER.readTree(out.resolve("summary.json").toFile());
        String plan = Files.readString(out.resolve("plan.yml"));
        long seed = summary.path("plan").path("seed").asLong(42);
        registry.addModel(NewModel.of("demo", Path.of(SafeguardCommandTest.DEMO_BASE), ModelKind.BASE, List.of()));
        registry.addModel(NewModel.of("demo-ft", out.resolve("finetune"), ModelKind.ADAPTER, List.of(BASE)));
        Map<String, VersionRef> refs = new LinkedHashMap<>();
        refs.put("base", BASE);
        refs.put("finetuned", ADAPTER);
        for (JsonNode v : summary.path("variants")) {
            String name = v.path("name").asText();
            if (refs.containsKey(name)) {
                continue;
            }
            String method = v.path("method").asText();
            String sweep = "fixture-" + method;
            registry.addSweep(sweep, method, plan);
            // merged variants are in models/NAME; linear ones ran as base + λ·adapter and keep that adapter
            Path merged = out.resolve("models").resolve(name);
            boolean isMerge = Files.isDirectory(merged);
            VersionRef ref = registry.addModel(new NewModel(
                            "demo-safe",
                            isMerge ? merged : out.resolve("adapters").resolve(name),
                            isMerge ? ModelKind.MERGE : ModelKind.ADAPTER,
                            List.of(BASE, ADAPTER),
                            Files.readString(out.resolve("merges").resolve(name + ".yml")),
                            null,
                            sweep,
                            v.path("lambda").asDouble(),
                            null))
                    .value()
                    .ref();
            refs.put(name, ref);
        }
        for (var entry : refs.entrySet()) {
            Path eval = out.resolve("eval").resolve(entry.getKey());
            EvalRegistration.recordSafety(
                    registry,
                    entry.getValue(),
                    null,
                    SAFETY_SET,
                    summary(eval.resolve("safety").resolve(SAFETY_SET)),
                    eval.resolve("safety").resolve(SAFETY_SET),
                    false,
                    seed);
            EvalRegistration.recordSafety(
                    registry,
                    entry.getValue(),
                    null,
                    "benign",
                    summary(eval.resolve("benign")),
                    eval.resolve("benign"),
                    true,
                    seed);
            EvalRegistration.recordTask(
                    registry,
                    entry.getValue(),
                    null,
                    TASK_SET,
                    summary(eval.resolve("task").resolve(TASK_SET)),
                    eval.resolve("task").resolve(TASK_SET),
                    "numeric",
                    seed);
        }
        VersionRef selected = refs.get(summary.path("selected").asText());
        ObjectNode selection = Json.object();
        selection.put("rule", summary.path("rule").asText());
        selection.put("reason", summary.path("rule_detail").asText());
        GateVerdict chosen = registry.recordGateVerdict(
                selected,
                BASE,
                "selection",
                "sha256:" + dev.safemerge.registry.Hashing.sha256Hex(plan),
                "pass",
                Json.pretty(selection));
        // the release before this run, recorded as such so that the alias has a gated history to roll back through
        VersionRef previous = selected.equals(BASE) ? ADAPTER : BASE;
        GateVerdict release = registry.recordGateVerdict(
                previous, null, "release", "sha256:fixture", "pass", "{\"note\": \"released before this run\"}");
        registry.setAlias("production", previous.toString(), false, null, release.id());
        registry.setAlias("production", selected.toString(), false, null, chosen.id());
        List<VersionRef> variants =
                refs.values().stream().filter(r -> r.name().equals("demo-safe")).toList();
        return new Run(out, selected, variants, previous);
    }

    private static ObjectNode summary(Path dir) throws IOException {
        return (ObjectNode) Json.MAPPER.readTree(dir.resolve("summary.json").toFile());
    }
}
