package dev.safemerge.app;

import dev.safemerge.registry.AliasMove;
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
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

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
final class RegistryCommand extends CommandGroup {
    @Command(
            name = "add",
            mixinStandardHelpOptions = true,
            description = {
                "Register a model directory; prints NAME:N (the same tensors again: the existing version).",
                "The kind defaults to base without parents, adapter with adapter_config.json, else merge; a"
                        + " mergekit_config.yml in the directory is kept as the recipe unless --recipe is given."
            },
            footer = {"", "Example:", "  safemerge registry add MODEL_DIR --name llama-safe --parent llama:1"})
    static final class Add extends RegistrySubcommand {
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

        private NewModel model;

        @Override
        void prepare() {
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
            model = new NewModel(name, dir, modelKind, parentRefs, recipeText, dataHash, sweep, sweepValue, branch);
        }

        @Override
        int run(Registry registry, PrintWriter out) {
            if (sweep != null) {
                registry.addSweep(sweep, model.kind().label(), "");
            }
            Registered<ModelVersion> registered = registry.addModel(model);
            printRegistered(out, registered, registered.value().ref(), "tensors");
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
    static final class ListVersions extends RegistrySubcommand {
        @Override
        int run(Registry registry, PrintWriter out) {
            printEach(
                    out,
                    registry.models(),
                    model -> out.println(versionLine(
                            model.ref(), model.kind().label(), 10, model.contentHash(), " " + model.location())));
            return Main.EXIT_OK;
        }
    }

    @Command(
            name = "show",
            mixinStandardHelpOptions = true,
            description = "Show a version: identity, lineage, tags, evaluations and gate verdicts.",
            footer = {"", "Example:", "  safemerge registry show llama-safe:2"})
    static final class Show extends VersionSubcommand {
        @Override
        int run(Registry registry, PrintWriter out) {
            ModelVersion model = registry.model(ref);
            List<LineageEdge> parents =
                    registry.lineage(ref).stream().filter(e -> e.depth() == 1).toList();
            List<Tag> tags = registry.tags(ref);
            List<Evaluation> evaluations = registry.evaluations(ref);
            List<GateVerdict> verdicts = registry.gateVerdicts(ref);
            Map<String, Object> all = new LinkedHashMap<>();
            all.put("model", model);
            all.put("parents", parents.stream().map(LineageEdge::parent).toList());
            all.put("tags", tags);
            all.put("evaluations", evaluations);
            all.put("gate_verdicts", verdicts);
            print(out, all, shown -> {
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
            });
            return Main.EXIT_OK;
        }
    }

    @Command(
            name = "lineage",
            mixinStandardHelpOptions = true,
            description = "Print a version's ancestry, nearest parents first.",
            footer = {"", "Example:", "  safemerge registry lineage llama-safe:2"})
    static final class Lineage extends VersionSubcommand {
        @Override
        int run(Registry registry, PrintWriter out) {
            print(out, registry.lineage(ref), edges -> {
                out.println(ref);
                for (LineageEdge edge : edges) {
                    out.println("  ".repeat(edge.depth()) + edge.parent() + " ("
                            + edge.parentKind().label() + ", parent of " + edge.child() + ")");
                }
            });
            return Main.EXIT_OK;
        }
    }

    @Command(
            name = "tag",
            mixinStandardHelpOptions = true,
            description = "Tag a version by hand (automatic tags come from evaluations).",
            footer = {"", "Example:", "  safemerge registry tag llama-safe:2 reviewed"})
    static final class TagVersion extends VersionSubcommand {
        @Parameters(index = "1", paramLabel = "TAG", description = "The tag.")
        String tag;

        @Override
        int run(Registry registry, PrintWriter out) {
            registry.tag(ref, tag);
            print(
                    out,
                    Map.of("version", ref.toString(), "tag", tag),
                    tagged -> out.println("tagged " + ref + " " + tag));
            return Main.EXIT_OK;
        }
    }

    @Command(
            name = "alias",
            mixinStandardHelpOptions = true,
            description = "Set or show an alias (production, candidate, ...).",
            subcommands = {AliasSet.class, AliasShow.class},
            footer = {"", "Example:", "  safemerge registry alias show production"})
    static final class Alias extends CommandGroup {}

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
    static final class AliasSet extends RegistrySubcommand {
        @Parameters(index = "0", paramLabel = "ALIAS", description = "The alias.")
        String alias;

        @Parameters(index = "1", paramLabel = "NAME:N|ALIAS", description = "The version (or alias) to point at.")
        String target;

        @Mixin
        OverrideOptions gate;

        @Override
        int run(Registry registry, PrintWriter out) {
            printMove(out, registry.setAlias(alias, target, gate.override, gate.reason, null), options.json);
            return Main.EXIT_OK;
        }
    }

    @Command(
            name = "show",
            mixinStandardHelpOptions = true,
            description = "Show where an alias points now, or at a past time (--at), and who moved it there.",
            footer = {"", "Example:", "  safemerge registry alias show production --at 2026-11-30T12:00:00Z"})
    static final class AliasShow extends RegistrySubcommand {
        @Parameters(index = "0", paramLabel = "ALIAS", description = "The alias.")
        String alias;

        @Option(names = "--at", paramLabel = "TIME", description = "An ISO-8601 instant, e.g. 2026-11-30T12:00:00Z.")
        String at;

        @Option(names = "--history", description = "List every move of the alias.")
        boolean history;

        private Instant time;

        @Override
        void prepare() {
            if (at != null) {
                try {
                    time = Instant.parse(at);
                } catch (DateTimeParseException e) {
                    throw new BadInputException(
                            "--at " + at + ": expected an ISO-8601 instant such as 2026-11-30T12:00:00Z");
                }
            }
        }

        @Override
        int run(Registry registry, PrintWriter out) {
            if (history) {
                printEach(out, registry.aliasHistory(alias), move -> printMove(out, move, false));
                return Main.EXIT_OK;
            }
            print(out, registry.alias(alias, time), state -> {
                out.println(alias + " -> " + state.version()
                        + (state.via().isEmpty() ? "" : " (via " + String.join(" -> ", state.via()) + ")")
                        + (state.pinned() ? " [pinned]" : ""));
                printMove(out, state.move(), false);
            });
            return Main.EXIT_OK;
        }
    }

    @Command(
            name = "rollback",
            mixinStandardHelpOptions = true,
            description = "Move an alias back to the last earlier version that passed a gate (again: further back).",
            footer = {"", "Example:", "  safemerge registry rollback production --pin"})
    static final class Rollback extends RegistrySubcommand {
        @Parameters(index = "0", paramLabel = "ALIAS", description = "The alias.")
        String alias;

        @Option(
                names = "--pin",
                description = "Pin the alias there: only 'registry alias set --override' moves it again.")
        boolean pin;

        @Override
        int run(Registry registry, PrintWriter out) {
            printMove(out, registry.rollback(alias, pin), options.json);
            return Main.EXIT_OK;
        }
    }

    @Command(
            name = "log",
            mixinStandardHelpOptions = true,
            description = "Print the audit log: every change, who made it and when.",
            footer = {"", "Example:", "  safemerge registry log --json"})
    static final class Log extends RegistrySubcommand {
        @Override
        int run(Registry registry, PrintWriter out) {
            printEach(
                    out,
                    registry.log(),
                    e -> out.println(e.seq() + "  " + e.at() + "  " + e.actor() + "  " + e.action() + "  " + e.subject()
                            + "  " + e.detail()));
            return Main.EXIT_OK;
        }
    }

    @Command(
            name = "verify",
            mixinStandardHelpOptions = true,
            description = "Check the audit chain and every model's tensor files against their recorded hashes"
                    + " (exit 1 on any mismatch).",
            footer = {"", "Example:", "  safemerge registry verify --db jdbc:postgresql://db/registry?user=ci"})
    static final class Verify extends RegistrySubcommand {
        @Override
        int run(Registry registry, PrintWriter out) {
            VerifyReport report = registry.verify();
            print(out, report, checked -> {
                if (checked.ok()) {
                    out.println("ok: " + checked.auditEntries() + " audit entries chain; the files of "
                            + checked.modelsChecked() + " model versions match");
                } else {
                    checked.problems().forEach(p -> out.println("MISMATCH " + p));
                }
            });
            return report.ok() ? Main.EXIT_OK : Main.EXIT_CHECK_FAILED;
        }
    }

    /** A registry subcommand about one model version, named by its first parameter. */
    abstract static class VersionSubcommand extends RegistrySubcommand {
        @Parameters(index = "0", paramLabel = "NAME:N", description = "The version.")
        String version;

        VersionRef ref;

        @Override
        final void prepare() {
            ref = VersionRef.parse(version);
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
