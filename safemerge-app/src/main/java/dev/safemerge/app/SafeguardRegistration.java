package dev.safemerge.app;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.safemerge.eval.Json;
import dev.safemerge.registry.Evaluation;
import dev.safemerge.registry.GateVerdict;
import dev.safemerge.registry.Hashing;
import dev.safemerge.registry.ModelKind;
import dev.safemerge.registry.NewEvaluation;
import dev.safemerge.registry.NewModel;
import dev.safemerge.registry.Registry;
import dev.safemerge.registry.VersionRef;
import dev.safemerge.safeguard.SafeguardPlan;
import dev.safemerge.safeguard.SafeguardRunner;
import dev.safemerge.safeguard.SelectionRule;
import dev.safemerge.safeguard.VariantResult;
import dev.safemerge.tensor.BadInputException;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code safeguard --registry}: once the run is done, registers every variant (kind, parents, the exact mergekit YAML,
 * the sweep of its method with λ as the swept value), every evaluation with its per-prompt verdicts, and the selection
 * (a passing gate verdict of the selected version against the base, suite {@value GateVerdict#SELECTION}, so that an alias can
 * move to it). Registration reads the run's folder, so a killed run registers everything when it finishes, and a rerun
 * registers nothing twice (same content: the same version; an evaluation or selection already recorded is skipped).
 */
final class SafeguardRegistration {
    @Option(
            names = "--registry",
            description = "Register every variant, evaluation and the selection in the registry (needs"
                    + " --keep-models: registered weights must stay where they are registered).")
    boolean enabled;

    @Option(
            names = "--registry-name",
            paramLabel = "NAME",
            description = "Prefix of the variants' names in the registry (default: the --out folder's name); the base"
                    + " keeps its folder's name.")
    String name;

    @Mixin
    RegistryLocation location;

    /** Fails before any work when the options do not fit the plan or the registry cannot be opened. */
    void check(SafeguardPlan plan, Path out) {
        if (!enabled) {
            if (name != null || location.given()) {
                throw new BadInputException("--registry-name, --db and --actor need --registry");
            }
            return;
        }
        if (!plan.keepModels()) {
            throw new BadInputException("--registry records every variant's weights where they are, so they must stay:"
                    + " add --keep-models");
        }
        VersionRef.parse(prefix(out) + "-base:1"); // the name is usable
        try (Registry registry = location.open()) {
            registry.models();
        }
    }

    private String prefix(Path out) {
        return name != null
                ? name
                : out.toAbsolutePath().normalize().getFileName().toString();
    }

    /** Registers the finished run in {@code out}; prints one line per version. */
    void register(SafeguardPlan plan, Path out, SafeguardRunner.Result result, PrintWriter log) {
        if (!enabled) {
            return;
        }
        Path dir = out.toAbsolutePath().normalize();
        String prefix = prefix(out);
        try (Registry registry = location.open()) {
            VersionRef base = add(
                    registry,
                    log,
                    NewModel.of(plan.base().getFileName().toString(), plan.base(), ModelKind.BASE, List.of()));
            boolean lora = !plan.adapters().isEmpty();
            List<VersionRef> tuned = new ArrayList<>();
            for (Path model : lora ? plan.adapters() : plan.finetuned()) {
                tuned.add(add(
                        registry,
                        log,
                        NewModel.of(
                                prefix + "-" + VariantResult.FINETUNED,
                                model,
                                lora ? ModelKind.ADAPTER : ModelKind.FINE_TUNED,
                                List.of(base))));
            }
            Map<String, VersionRef> refs = new LinkedHashMap<>();
            for (VariantResult variant : result.variants()) {
                VersionRef ref;
                if (variant.name().equals(VariantResult.BASE)) {
                    ref = base;
                } else if (variant.name().equals(VariantResult.FINETUNED)) {
                    ref = tuned.getFirst();
                } else {
                    ref = addVariant(registry, log, plan, dir, prefix, variant, base, tuned);
                }
                refs.put(variant.name(), ref);
                evaluations(registry, plan, dir.resolve("eval").resolve(variant.name()), ref);
            }
            VariantResult selected = result.selected().selected();
            if (selected != null) {
                selection(registry, log, plan, refs.get(selected.name()), base, result);
            }
        }
    }

    private static VersionRef add(Registry registry, PrintWriter log, NewModel model) {
        var registered = registry.addModel(model);
        VersionRef ref = registered.value().ref();
        log.println((registered.created() ? "registered " : "already registered ") + ref + " ("
                + model.kind().label() + ", " + model.location() + ")");
        return ref;
    }

    private static VersionRef addVariant(
            Registry registry,
            PrintWriter log,
            SafeguardPlan plan,
            Path dir,
            String prefix,
            VariantResult variant,
            VersionRef base,
            List<VersionRef> tuned) {
        Path merged = dir.resolve("models").resolve(variant.name());
        Path adapter = dir.resolve("adapters").resolve(variant.name());
        Path location = Files.isDirectory(merged) ? merged : adapter;
        if (!Files.isDirectory(location)) {
            throw new BadInputException(variant.name() + ": no weights in " + merged + " or " + adapter
                    + " to register (was the run made without --keep-models?)");
        }
        String sweep = prefix + "-" + variant.method();
        registry.addSweep(sweep, variant.method(), plan.toYaml());
        List<VersionRef> parents = new ArrayList<>(List.of(base));
        parents.addAll(variant.method().equals("model_stock") ? tuned : List.of(tuned.getFirst()));
        return add(
                registry,
                log,
                new NewModel(
                        prefix + "-" + variant.name(),
                        location,
                        location == merged ? ModelKind.MERGE : ModelKind.ADAPTER,
                        parents,
                        read(dir.resolve("merges").resolve(variant.name() + ".yml")),
                        null,
                        sweep,
                        variant.lambda(),
                        null));
    }

    /** Every safety, over-refusal and task evaluation of one variant, each unless already recorded. */
    private static void evaluations(Registry registry, SafeguardPlan plan, Path eval, VersionRef ref) {
        List<NewEvaluation> all = new ArrayList<>();
        for (SafeguardPlan.SafetySet set : plan.safety()) {
            Path dir = eval.resolve("safety").resolve(set.name());
            all.add(EvalRegistration.safety(ref, null, set.name(), summary(dir), dir, false, plan.seed()));
        }
        if (plan.benign() != null) {
            Path dir = eval.resolve("benign");
            all.add(EvalRegistration.safety(
                    ref, null, plan.benign().getFileName().toString(), summary(dir), dir, true, plan.seed()));
        }
        boolean split = plan.select() instanceof SelectionRule.Validation;
        for (SafeguardPlan.TaskSet set : plan.tasks()) {
            Path task = eval.resolve("task").resolve(set.name());
            if (split) {
                Path reported = task.resolve("reported");
                Path validation = task.resolve("validation");
                all.add(EvalRegistration.task(
                        ref, null, set.name(), summary(reported), reported, set.metric(), plan.seed()));
                all.add(EvalRegistration.task(
                        ref,
                        null,
                        set.name() + "-validation",
                        summary(validation),
                        validation,
                        set.metric(),
                        plan.seed()));
            } else {
                all.add(EvalRegistration.task(ref, null, set.name(), summary(task), task, set.metric(), plan.seed()));
            }
        }
        List<Evaluation> existing = registry.evaluations(ref);
        for (NewEvaluation evaluation : all) {
            if (existing.stream().noneMatch(e -> same(e, evaluation))) {
                registry.addEvaluation(evaluation);
            }
        }
    }

    /** The same evaluation registered before: kind, suite, prompts, value and N agree (a rerun reproduces them). */
    private static boolean same(Evaluation recorded, NewEvaluation evaluation) {
        return recorded.kind().equals(evaluation.kind())
                && recorded.suite().equals(evaluation.suite())
                && recorded.promptsHash().equals(evaluation.promptsHash())
                && recorded.n() == evaluation.n()
                && Objects.equals(recorded.value(), evaluation.value());
    }

    private void selection(
            Registry registry,
            PrintWriter log,
            SafeguardPlan plan,
            VersionRef selected,
            VersionRef base,
            SafeguardRunner.Result result) {
        ObjectNode verdict = Json.object();
        verdict.put("rule", plan.select().text());
        verdict.put("reason", result.selected().reason());
        verdict.put("selected", result.selected().selected().name());
        String hash = "sha256:" + Hashing.sha256Hex(plan.toYaml());
        for (GateVerdict existing : registry.gateVerdicts(selected)) {
            if (existing.suite().equals(GateVerdict.SELECTION)
                    && existing.suiteHash().equals(hash)) {
                return;
            }
        }
        GateVerdict gate =
                registry.recordGateVerdict(selected, base, GateVerdict.SELECTION, hash, "pass", Json.pretty(verdict));
        log.println("recorded the selection of " + selected + " (gate verdict " + gate.id() + ", suite "
                + GateVerdict.SELECTION + ")");
    }

    private static ObjectNode summary(Path dir) {
        try {
            return (ObjectNode) Json.MAPPER.readTree(dir.resolve("summary.json").toFile());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + dir.resolve("summary.json"), e);
        }
    }

    private static String read(Path file) {
        try {
            return Files.isRegularFile(file) ? Files.readString(file) : null;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
    }
}
