package dev.safemerge.app;

import dev.safemerge.registry.PromptConstraint;
import dev.safemerge.registry.PromptVersion;
import dev.safemerge.registry.Registered;
import dev.safemerge.registry.Registry;
import dev.safemerge.tensor.BadInputException;
import dev.safemerge.tensor.Utf8Text;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
        name = "prompt",
        mixinStandardHelpOptions = true,
        description = {
            "Prompt assets: system prompts and chat-template overrides as immutable versions identified by their"
                    + " content (the same content again: the same version), labels that move, and safety"
                    + " constraints (max ASR or over-refusal on a named suite) that 'gate --prompt-version' checks."
        },
        subcommands = {
            RegistryPromptCommand.Add.class,
            RegistryPromptCommand.ListPrompts.class,
            RegistryPromptCommand.Show.class,
            RegistryPromptCommand.Label.class
        },
        footer = {
            "",
            "Example:",
            "  safemerge registry prompt add assistant --file SYSTEM.txt \\",
            "      --max-asr core-safety=0.05 --label production",
            "  safemerge gate llama-safe:2 --suite data/suites/core.yml \\",
            "      --prompt-version assistant@production"
        })
final class RegistryPromptCommand extends CommandGroup {
    /** Where the content comes from: a file or the command line. */
    static final class Content {
        @Option(names = "--file", paramLabel = "FILE", description = "The prompt or template, a UTF-8 text file.")
        Path file;

        @Option(names = "--text", paramLabel = "TEXT", description = "The prompt or template itself.")
        String text;

        String read() {
            if (text != null) {
                return text;
            }
            try {
                return Utf8Text.decode(file, Files.readAllBytes(file));
            } catch (IOException e) {
                throw new BadInputException(file + ": cannot read (" + e.getMessage() + ")", e);
            }
        }
    }

    @Command(
            name = "add",
            mixinStandardHelpOptions = true,
            description = {
                "Register a prompt version; prints NAME:N (the same content again: the existing version, and its"
                        + " constraints must match).",
                "Constraints are checked by 'gate --prompt-version NAME:N' on the suite they name (its 'name' key)."
            },
            footer = {
                "",
                "Example:",
                "  safemerge registry prompt add assistant --file SYSTEM.txt \\",
                "      --max-asr core-safety=0.05 --max-over-refusal core-safety=0.10 \\",
                "      --label candidate"
            })
    static final class Add extends RegistrySubcommand {
        @Parameters(index = "0", paramLabel = "NAME", description = "The prompt's name.")
        String name;

        @ArgGroup(exclusive = true, multiplicity = "1")
        Content content;

        @Option(
                names = "--kind",
                defaultValue = "system-prompt",
                paramLabel = "KIND",
                description = "system-prompt (default) or chat-template (an override of the model's template).")
        String kind;

        @Option(names = "--label", paramLabel = "LABEL", description = "Move this label to the version (repeatable).")
        List<String> labels = new ArrayList<>();

        @Option(
                names = "--max-asr",
                paramLabel = "SUITE=X",
                description = "At most this attack success rate on the suite (repeatable).")
        Map<String, Double> maxAsr = new LinkedHashMap<>();

        @Option(
                names = "--max-over-refusal",
                paramLabel = "SUITE=X",
                description = "At most this over-refusal rate on the suite's benign set (repeatable).")
        Map<String, Double> maxOverRefusal = new LinkedHashMap<>();

        @Option(names = "--branch", paramLabel = "NAME", description = "The branch whose prompt head this becomes.")
        String branch;

        @Override
        int run(Registry registry, PrintWriter out) {
            List<PromptConstraint> constraints = new ArrayList<>();
            maxAsr.forEach((suite, max) -> constraints.add(new PromptConstraint(suite, "asr", max)));
            maxOverRefusal.forEach((suite, max) -> constraints.add(new PromptConstraint(suite, "over_refusal", max)));
            Registered<PromptVersion> registered =
                    registry.addPrompt(name, kind, content.read(), labels, constraints, branch);
            printRegistered(out, registered, registered.value().ref(), "content");
            return Main.EXIT_OK;
        }
    }

    @Command(
            name = "list",
            mixinStandardHelpOptions = true,
            description = "List every prompt version with its kind, content hash and labels.",
            footer = {"", "Example:", "  safemerge registry prompt list --json"})
    static final class ListPrompts extends RegistrySubcommand {
        @Override
        int run(Registry registry, PrintWriter out) {
            printEach(
                    out,
                    registry.prompts(),
                    prompt -> out.println(versionLine(
                            prompt.ref(),
                            prompt.kind(),
                            13,
                            prompt.contentHash(),
                            prompt.labels().isEmpty() ? "" : " [" + String.join(", ", prompt.labels()) + "]")));
            return Main.EXIT_OK;
        }
    }

    @Command(
            name = "show",
            mixinStandardHelpOptions = true,
            description = "Show a prompt version: content, labels, constraints, where and by whom it was added.",
            footer = {"", "Example:", "  safemerge registry prompt show assistant@production"})
    static final class Show extends PromptSubcommand {
        @Override
        int run(Registry registry, PrintWriter out) {
            print(out, registry.prompt(reference), prompt -> {
                out.println(prompt.ref() + " (" + prompt.kind() + ")");
                out.println("  content   " + prompt.contentHash());
                out.println("  created   " + prompt.createdAt() + " by " + prompt.actor()
                        + (prompt.branch() == null ? "" : " on branch " + prompt.branch()));
                out.println("  labels    " + (prompt.labels().isEmpty() ? "none" : String.join(", ", prompt.labels())));
                for (PromptConstraint c : prompt.constraints()) {
                    out.printf(Locale.ROOT, "  limit     %s <= %.4f on %s%n", c.metric(), c.max(), c.suite());
                }
                out.println("  text:");
                prompt.content().lines().forEach(line -> out.println("    " + line));
            });
            return Main.EXIT_OK;
        }
    }

    @Command(
            name = "label",
            mixinStandardHelpOptions = true,
            description = "Move a label (production, candidate, ...) of a prompt's name to a version; the move is"
                    + " kept in the audit log.",
            footer = {"", "Example:", "  safemerge registry prompt label assistant:3 production"})
    static final class Label extends PromptSubcommand {
        @Parameters(index = "1", paramLabel = "LABEL", description = "The label.")
        String label;

        @Override
        int run(Registry registry, PrintWriter out) {
            print(
                    out,
                    registry.labelPrompt(reference, label),
                    prompt -> out.println(prompt.ref().name() + "@" + label + " -> " + prompt.ref()));
            return Main.EXIT_OK;
        }
    }

    /** A prompt subcommand about one prompt version, named by its first parameter. */
    abstract static class PromptSubcommand extends RegistrySubcommand {
        @Parameters(index = "0", paramLabel = "NAME:N|NAME@LABEL", description = "The prompt version.")
        String reference;
    }
}
