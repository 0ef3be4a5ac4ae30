package dev.safemerge.app;

import picocli.CommandLine.Command;

@Command(
        name = "eval",
        mixinStandardHelpOptions = true,
        description = "Evaluate a model: safety (attack success rate with a judge) or a task metric.",
        subcommands = {EvalSafetyCommand.class, EvalTaskCommand.class},
        footer = {
            "",
            "Example:",
            "  safemerge eval safety --prompts data/safety/harmful.jsonl \\",
            "      --endpoint http://127.0.0.1:8000 --model-name merged \\",
            "      --judge refusal --out results/merged-advbench"
        })
final class EvalCommand extends CommandGroup {}
