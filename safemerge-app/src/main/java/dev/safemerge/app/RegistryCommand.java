package dev.safemerge.app;

import dev.safemerge.registry.AliasMove;
import dev.safemerge.registry.AliasState;
import dev.safemerge.registry.AuditEntry;
import dev.safemerge.registry.Evaluation;
import dev.safemerge.registry.GateVerdict;
import dev.safemerge.registry.LineageEdge;
import dev.safemerge.registry.ModelKind;
import dev.safemerge.registry.ModelVersion;
import dev.safemerge.registry.NewModel;
import dev.safemerge.registry.Registered;
import dev.safemerge.registry.Registry;
import dev.safemerge.registry.Tag;
import dev.safemerge.registry.VerifyReport;
import dev.safemerge.registry.VersionRef;
import dev.safemerge.tensor.BadInputException;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(
        name = "registry",
        mixinStandardHelpOptions = true,
        description = {
            "Model versions by content hash with lineage, evaluations, tags, aliases that move only through a"
                    + " passing gate (or --override --reason), rollback, prompt versions, branches, and a hash-chained"
                    + " audit log.",
            "The registry is a SQLite file (default: registry.db in ~/.safemerge) or a PostgreSQL database (--db URL)."
        },
        subcommands = {
            RegistryCommand.Add.class,
            RegistryCommand.ListVersions.class,
            RegistryCommand.Show.class,
            RegistryCommand.Lineage.class,
            RegistryCommand.TagVersion.class,
            RegistryCommand.Alias.class,
            RegistryCommand.Rollback.class,
            RegistryCommand.Log.class,
            RegistryCommand.Verify.class,
            RegistryPromptCommand.class,
            RegistryBranchCommand.class
        },
        footer = {
            "",
            "Example:",
            "  safemerge registry add MODEL_DIR --name llama-safe --parent llama:1",
            "  safemerge gate llama-safe:1 --suite data/suites/core.yml --promote production",
            "  safemerge registry alias show production --at 2026-11-30T12:00:00Z"
        })
final class RegistryCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    @Command(
            name = "add",
            mixinStandardHelpOptions = true,
            description = {
                "Register a model directory; prints NAME:N (the same tensors again: the existing version).",
                "The kind defaults to base without parents, adapter with adapter_config.json, else merge; a"
                        + " mergekit_config.yml in the directory is kept as the recipe unless --recipe is given."
            },
            footer = {"", "Example:", "  safemerge registry add MODEL_DIR --name llama-safe --parent llama:1"})
    static final class Add implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "DIR", description = "The model directory (*.safetensors).")
        Path dir;

        @Option(names = "--name", required = true, paramLabel = "NAME", description = "The model's name.")
        String name;

        @Option(names = "--parent", paramLabel = "NAME:N", description = "A parent version (repeatable).")
        List<String> parents = new ArrayList<>();

        @Option(names = "--kind", paramLabel = "KIND", description = "base, fine-tuned, adapter or merge.")
        String kind;

        @Option(
                names = "--recipe",
                paramLabel = "FILE",
                description = "The exact mergekit YAML or training settings that made the weights.")
        Path recipe;

        @Option(names = "--data-hash", paramLabel = "HASH", description = "Hash of the training data.")
        String dataHash;

        @Option(names = "--sweep", paramLabel = "NAME", description = "The sweep this variant belongs to.")
        String sweep;

        @Option(names = "--sweep-value", paramLabel = "X", description = "The swept value (e.g. the weight).")
        Double sweepValue;

        @Option(names = "--branch", paramLabel = "NAME", description = "The branch whose head this version becomes.")
        String branch;

        @Mixin
        RegistryOptions options;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            List<VersionRef> parentRefs =
                    parents.stream().map(VersionRef::parse).toList();
            ModelKind modelKind = kind != null
                    ? ModelKind.parse(kind)
                    : parentRefs.isEmpty()
                            ? ModelKind.BASE
                            : Files.isRegularFile(dir.resolve("adapter_config.json"))
                                    ? ModelKind.ADAPTER
                                    : ModelKind.MERGE;
            Path recipeFile = recipe != null ? recipe : dir.resolve("mergekit_config.yml");
            String recipeText = recipe != null || Files.isRegularFile(recipeFile) ? read(recipeFile) : null;
            try (Registry registry = options.open()) {
                if (sweep != null) {
                    registry.addSweep(sweep, modelKind.label(), "");
                }
                Registered<ModelVersion> registered = registry.addModel(new NewModel(
                        name, dir, modelKind, parentRefs, recipeText, dataHash, sweep, sweepValue, branch));
                printRegistered(spec, options, registered, registered.value().ref(), "tensors");
            }
            return Main.EXIT_OK;
        }

        private static String read(Path file) {
            try {
                return Files.readString(file, StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new BadInputException(file + ": cannot read (" + e.getMessage() + ")", e);
            }
        }
    }

    @Command(
            name = "list",
            mixinStandardHelpOptions = true,
            description = "List every model version with its kind, content hash and location.",
            footer = {"", "Example:", "  safemerge registry list --json"})
    static final class ListVersions implements Callable<Integer> {
        @Mixin
        RegistryOptions options;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            try (Registry registry = options.open()) {
                List<ModelVersion> models = registry.models();
                PrintWriter out = spec.commandLine().getOut();
                if (options.json) {
                    RegistryOptions.printJson(out, models);
                    return Main.EXIT_OK;
                }
                for (ModelVersion model : models) {
                    out.printf(
                            Locale.ROOT,
                            "%-24s %-10s %s %s%n",
                            model.ref(),
                            model.kind().label(),
                            model.contentHash().substring(0, 19),
                            model.location());
                }
            }
            return Main.EXIT_OK;
        }
    }

    @Command(
            name = "show",
            mixinStandardHelpOptions = true,
            description = "Show a version: identity, lineage, tags, evaluations and gate verdicts.",
            footer = {"", "Example:", "  safemerge registry show llama-safe:2"})
    static final class Show implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "NAME:N", description = "The version.")
        String version;

        @Mixin
        RegistryOptions options;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            VersionRef ref = VersionRef.parse(version);
            try (Registry registry = options.open()) {
                ModelVersion model = registry.model(ref);
                List<LineageEdge> parents = registry.lineage(ref).stream()
                        .filter(e -> e.depth() == 1)
                        .toList();
                List<Tag> tags = registry.tags(ref);
                List<Evaluation> evaluations = registry.evaluations(ref);
                List<GateVerdict> verdicts = registry.gateVerdicts(ref);
                PrintWriter out = spec.commandLine().getOut();
                if (options.json) {
                    Map<String, Object> all = new LinkedHashMap<>();
                    all.put("model", model);
                    all.put("parents", parents.stream().map(LineageEdge::parent).toList());
                    all.put("tags", tags);
                    all.put("evaluations", evaluations);
                    all.put("gate_verdicts", verdicts);
                    RegistryOptions.printJson(out, all);
                    return Main.EXIT_OK;
                }
                out.println(model.ref() + " (" + model.kind().label() + ")");
                out.println("  content   " + model.contentHash());
                out.println("  location  " + model.location());
                out.println("  created   " + model.createdAt() + " by " + model.actor());
                out.println("  parents   "
                        + (parents.isEmpty()
                                ? "none"
                                : String.join(
                                        ", ",
                                        parents.stream()
                                                .map(e -> e.parent().toString())
                                                .toList())));
                if (model.sweep() != null) {
                    out.println("  sweep     " + model.sweep() + " at " + model.sweepValue());
                }
                if (model.branch() != null) {
                    out.println("  branch    " + model.branch());
                }
                if (model.dataHash() != null) {
                    out.println("  data      " + model.dataHash());
                }
                for (Tag tag : tags) {
                    out.println("  tag       " + tag.tag()
                            + (tag.automatic()
                                    ? " (from evaluation " + tag.evaluationId() + ")"
                                    : " (by " + tag.actor() + ")"));
                }
                for (Evaluation e : evaluations) {
                    out.println("  eval " + e.id() + "    " + e.kind() + " " + e.suite() + " " + e.metric() + "="
                            + Reports.rate(e.value(), e.n(), e.ciLow(), e.ciHigh())
                            + (e.prompt() != null ? " with prompt " + e.prompt() : "")
                            + (e.supersededBy() != null
                                    ? " (not comparable since evaluation " + e.supersededBy() + ")"
                                    : ""));
                }
                for (GateVerdict v : verdicts) {
                    out.println("  gate " + v.id() + "    " + v.outcome() + " on " + v.suite()
                            + (v.prompt() != null ? " with prompt " + v.prompt() : "")
                            + (v.baseline() != null ? " against " + v.baseline() : "") + " at " + v.createdAt());
                }
                if (model.recipe() != null) {
                    out.println("  recipe:");
                    model.recipe().lines().forEach(line -> out.println("    " + line));
                }
            }
            return Main.EXIT_OK;
        }
    }

    @Command(
            name = "lineage",
            mixinStandardHelpOptions = true,
            description = "Print a version's ancestry, nearest parents first.",
            footer = {"", "Example:", "  safemerge registry lineage llama-safe:2"})
    static final class Lineage implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "NAME:N", description = "The version.")
        String version;

        @Mixin
        RegistryOptions options;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            VersionRef ref = VersionRef.parse(version);
            try (Registry registry = options.open()) {
                List<LineageEdge> edges = registry.lineage(ref);
                PrintWriter out = spec.commandLine().getOut();
                if (options.json) {
                    RegistryOptions.printJson(out, edges);
                    return Main.EXIT_OK;
                }
                out.println(ref);
                for (LineageEdge edge : edges) {
                    out.println("  ".repeat(edge.depth()) + edge.parent() + " ("
                            + edge.parentKind().label() + ", parent of " + edge.child() + ")");
                }
            }
            return Main.EXIT_OK;
        }
    }

    @Command(
            name = "tag",
            mixinStandardHelpOptions = true,
            description = "Tag a version by hand (automatic tags come from evaluations).",
            footer = {"", "Example:", "  safemerge registry tag llama-safe:2 reviewed"})
    static final class TagVersion implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "NAME:N", description = "The version.")
        String version;

        @Parameters(index = "1", paramLabel = "TAG", description = "The tag.")
        String tag;

        @Mixin
        RegistryOptions options;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            VersionRef ref = VersionRef.parse(version);
            try (Registry registry = options.open()) {
                registry.tag(ref, tag);
                PrintWriter out = spec.commandLine().getOut();
                if (options.json) {
                    RegistryOptions.printJson(out, Map.of("version", ref.toString(), "tag", tag));
                } else {
                    out.println("tagged " + ref + " " + tag);
                }
            }
            return Main.EXIT_OK;
        }
    }

    @Command(
            name = "alias",
            mixinStandardHelpOptions = true,
            description = "Set or show an alias (production, candidate, ...).",
            subcommands = {AliasSet.class, AliasShow.class},
            footer = {"", "Example:", "  safemerge registry alias show production"})
    static final class Alias implements Runnable {
        @Spec
        CommandSpec spec;

        @Override
        public void run() {
            spec.commandLine().usage(spec.commandLine().getOut());
        }
    }

    @Command(
            name = "set",
            mixinStandardHelpOptions = true,
            description = {
                "Point an alias at NAME:N (or at another alias, to follow it).",
                "The version's latest gate verdict must be a pass; otherwise --override --reason TEXT is needed,"
                        + " and so it is for an alias pinned by a rollback. Every move is kept."
            },
            footer = {
                "",
                "Example:",
                "  safemerge registry alias set production llama-safe:2 \\",
                "      --override --reason 'hotfix, gate rerun tomorrow'"
            })
    static final class AliasSet implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "ALIAS", description = "The alias.")
        String alias;

        @Parameters(index = "1", paramLabel = "NAME:N|ALIAS", description = "The version (or alias) to point at.")
        String target;

        @Mixin
        OverrideOptions gate;

        @Mixin
        RegistryOptions options;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            try (Registry registry = options.open()) {
                AliasMove move = registry.setAlias(alias, target, gate.override, gate.reason, null);
                printMove(spec.commandLine().getOut(), move, options.json);
            }
            return Main.EXIT_OK;
        }
    }

    @Command(
            name = "show",
            mixinStandardHelpOptions = true,
            description = "Show where an alias points now, or at a past time (--at), and who moved it there.",
            footer = {"", "Example:", "  safemerge registry alias show production --at 2026-11-30T12:00:00Z"})
    static final class AliasShow implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "ALIAS", description = "The alias.")
        String alias;

        @Option(names = "--at", paramLabel = "TIME", description = "An ISO-8601 instant, e.g. 2026-11-30T12:00:00Z.")
        String at;

        @Option(names = "--history", description = "List every move of the alias.")
        boolean history;

        @Mixin
        RegistryOptions options;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            Instant time = null;
            if (at != null) {
                try {
                    time = Instant.parse(at);
                } catch (DateTimeParseException e) {
                    throw new BadInputException(
                            "--at " + at + ": expected an ISO-8601 instant such as 2026-11-30T12:00:00Z");
                }
            }
            PrintWriter out = spec.commandLine().getOut();
            try (Registry registry = options.open()) {
                if (history) {
                    List<AliasMove> moves = registry.aliasHistory(alias);
                    if (options.json) {
                        RegistryOptions.printJson(out, moves);
                    } else {
                        moves.forEach(move -> printMove(out, move, false));
                    }
                    return Main.EXIT_OK;
                }
                AliasState state = registry.alias(alias, time);
                if (options.json) {
                    RegistryOptions.printJson(out, state);
                    return Main.EXIT_OK;
                }
                out.println(alias + " -> " + state.version()
                        + (state.via().isEmpty() ? "" : " (via " + String.join(" -> ", state.via()) + ")")
                        + (state.pinned() ? " [pinned]" : ""));
                printMove(out, state.move(), false);
            }
            return Main.EXIT_OK;
        }
    }

    @Command(
            name = "rollback",
            mixinStandardHelpOptions = true,
            description = "Move an alias back to the last earlier version that passed a gate (again: further back).",
            footer = {"", "Example:", "  safemerge registry rollback production --pin"})
    static final class Rollback implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "ALIAS", description = "The alias.")
        String alias;

        @Option(
                names = "--pin",
                description = "Pin the alias there: only 'registry alias set --override' moves it again.")
        boolean pin;

        @Mixin
        RegistryOptions options;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            try (Registry registry = options.open()) {
                printMove(spec.commandLine().getOut(), registry.rollback(alias, pin), options.json);
            }
            return Main.EXIT_OK;
        }
    }

    @Command(
            name = "log",
            mixinStandardHelpOptions = true,
            description = "Print the audit log: every change, who made it and when.",
            footer = {"", "Example:", "  safemerge registry log --json"})
    static final class Log implements Callable<Integer> {
        @Mixin
        RegistryOptions options;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            try (Registry registry = options.open()) {
                List<AuditEntry> entries = registry.log();
                PrintWriter out = spec.commandLine().getOut();
                if (options.json) {
                    RegistryOptions.printJson(out, entries);
                    return Main.EXIT_OK;
                }
                for (AuditEntry e : entries) {
                    out.println(e.seq() + "  " + e.at() + "  " + e.actor() + "  " + e.action() + "  " + e.subject()
                            + "  " + e.detail());
                }
            }
            return Main.EXIT_OK;
        }
    }

    @Command(
            name = "verify",
            mixinStandardHelpOptions = true,
            description = "Check the audit chain and every model's tensor files against their recorded hashes"
                    + " (exit 1 on any mismatch).",
            footer = {"", "Example:", "  safemerge registry verify --db jdbc:postgresql://db/registry?user=ci"})
    static final class Verify implements Callable<Integer> {
        @Mixin
        RegistryOptions options;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            try (Registry registry = options.open()) {
                VerifyReport report = registry.verify();
                PrintWriter out = spec.commandLine().getOut();
                if (options.json) {
                    RegistryOptions.printJson(out, report);
                } else if (report.ok()) {
                    out.println("ok: " + report.auditEntries() + " audit entries chain; the files of "
                            + report.modelsChecked() + " model versions match");
                } else {
                    report.problems().forEach(p -> out.println("MISMATCH " + p));
                }
                return report.ok() ? Main.EXIT_OK : Main.EXIT_CHECK_FAILED;
            }
        }
    }

    /** Prints a registration: its JSON, or NAME:N (and on stderr that the same {@code what} was there already). */
    static void printRegistered(
            CommandSpec spec, RegistryOptions options, Registered<?> registered, VersionRef ref, String what) {
        PrintWriter out = spec.commandLine().getOut();
        if (options.json) {
            RegistryOptions.printJson(out, registered);
            return;
        }
        out.println(ref);
        if (!registered.created()) {
            spec.commandLine().getErr().println("already registered: the same " + what + " as " + ref);
        }
    }

    static void printMove(PrintWriter out, AliasMove move, boolean json) {
        if (json) {
            RegistryOptions.printJson(out, move);
            return;
        }
        String to = move.to() != null ? move.to().toString() : "alias " + move.toAlias();
        out.println(move.alias() + ": " + (move.from() == null ? "(new)" : move.from()) + " -> " + to + "  ["
                + move.action() + " by " + move.actor() + " at " + move.at()
                + (move.gateVerdictId() != null ? ", gate verdict " + move.gateVerdictId() : "")
                + (move.override() ? ", override: " + move.reason() : "")
                + (move.pinned() ? ", pinned" : "") + "]");
    }
}
