package dev.safemerge.app;

import dev.safemerge.registry.Branch;
import dev.safemerge.registry.BranchMove;
import dev.safemerge.registry.Registry;
import dev.safemerge.registry.VersionRef;
import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
        name = "branch",
        mixinStandardHelpOptions = true,
        description = {
            "Lines of work: a base, its fine-tunes, merges and prompt edits, with their own heads. Versions added with"
                    + " 'registry add --branch' and prompts with 'registry prompt add --branch' move the heads;"
                    + " 'branch promote' moves an alias to the head only through a passing gate (or --override)."
        },
        subcommands = {
            RegistryBranchCommand.Create.class,
            RegistryBranchCommand.ListBranches.class,
            RegistryBranchCommand.Show.class,
            RegistryBranchCommand.Promote.class
        },
        footer = {
            "",
            "Example:",
            "  safemerge registry branch create safety-fix --from llama:1",
            "  safemerge registry add MERGED_DIR --name llama --parent llama:1 \\",
            "      --branch safety-fix",
            "  safemerge gate llama:2 --suite data/suites/core.yml --baseline production",
            "  safemerge registry branch promote safety-fix production"
        })
final class RegistryBranchCommand extends CommandGroup {
    @Command(
            name = "create",
            mixinStandardHelpOptions = true,
            description = "Start a branch at a version (its head until versions are added on it).",
            footer = {
                "",
                "Example:",
                "  safemerge registry branch create safety-fix --from llama:1 \\",
                "      --prompt assistant:2"
            })
    static final class Create extends RegistrySubcommand {
        @Parameters(index = "0", paramLabel = "NAME", description = "The branch.")
        String name;

        @Option(names = "--from", required = true, paramLabel = "NAME:N", description = "The version it starts from.")
        String from;

        @Option(
                names = "--prompt",
                paramLabel = "NAME:N|NAME@LABEL",
                description = "The prompt version it starts with (its prompt head).")
        String prompt;

        @Override
        int run(Registry registry, PrintWriter out) {
            print(out, registry.createBranch(name, VersionRef.parse(from), prompt), branch -> printHeads(out, branch));
            return Main.EXIT_OK;
        }
    }

    @Command(
            name = "list",
            mixinStandardHelpOptions = true,
            description = "List every branch with its heads.",
            footer = {"", "Example:", "  safemerge registry branch list --json"})
    static final class ListBranches extends RegistrySubcommand {
        @Override
        int run(Registry registry, PrintWriter out) {
            printEach(out, registry.branches(), branch -> printHeads(out, branch));
            return Main.EXIT_OK;
        }
    }

    @Command(
            name = "show",
            mixinStandardHelpOptions = true,
            description = "Show a branch: its base, heads, and every move of its heads.",
            footer = {"", "Example:", "  safemerge registry branch show safety-fix"})
    static final class Show extends RegistrySubcommand {
        @Parameters(index = "0", paramLabel = "NAME", description = "The branch.")
        String name;

        @Override
        int run(Registry registry, PrintWriter out) {
            Branch branch = registry.branch(name);
            List<BranchMove> history = registry.branchHistory(name);
            Map<String, Object> all = new LinkedHashMap<>();
            all.put("branch", branch);
            all.put("history", history);
            print(out, all, shown -> {
                printHeads(out, branch);
                out.println("  base      " + branch.base());
                out.println("  created   " + branch.createdAt() + " by " + branch.actor());
                for (BranchMove move : history) {
                    out.println("  " + move.at() + "  " + move.action() + "  head " + move.model()
                            + (move.prompt() == null ? "" : ", prompt " + move.prompt()) + "  by " + move.actor());
                }
            });
            return Main.EXIT_OK;
        }
    }

    @Command(
            name = "promote",
            mixinStandardHelpOptions = true,
            description = {
                "Point an alias at the branch's head. Its latest gate verdict, run with the branch's prompt head"
                        + " (--prompt-version), must be a pass; otherwise --override --reason TEXT is needed.",
                "The move records the branch, the verdict or the override, and is kept in the audit log."
            },
            footer = {"", "Example:", "  safemerge registry branch promote safety-fix production"})
    static final class Promote extends RegistrySubcommand {
        @Parameters(index = "0", paramLabel = "BRANCH", description = "The branch.")
        String branch;

        @Parameters(index = "1", paramLabel = "ALIAS", description = "The alias to move to its head.")
        String alias;

        @Mixin
        OverrideOptions gate;

        @Override
        int run(Registry registry, PrintWriter out) {
            RegistryCommand.printMove(
                    out, registry.promoteBranch(branch, alias, gate.override, gate.reason), options.json);
            return Main.EXIT_OK;
        }
    }

    private static void printHeads(PrintWriter out, Branch branch) {
        out.println(branch.name() + ": head " + branch.head()
                + (branch.headPrompt() == null ? "" : ", prompt " + branch.headPrompt()) + " (from " + branch.base()
                + ", updated " + branch.updatedAt() + ")");
    }
}
