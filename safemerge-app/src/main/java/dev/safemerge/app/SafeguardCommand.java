package dev.safemerge.app;

import dev.safemerge.eval.gen.OpenAiGenerator;
import dev.safemerge.eval.stats.Wilson;
import dev.safemerge.safeguard.Rate;
import dev.safemerge.safeguard.SafeguardEndpoints;
import dev.safemerge.safeguard.SafeguardPlan;
import dev.safemerge.safeguard.SafeguardRunner;
import dev.safemerge.safeguard.SelectionRule;
import dev.safemerge.safeguard.VariantResult;
import dev.safemerge.tensor.BadInputException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(
        name = "safeguard",
        mixinStandardHelpOptions = true,
        description = {
            "The study as one run: evaluates the base, the fine-tuned model and every (method, λ) merge of the two on"
                    + " every safety set (ASR per set and pooled = unsafe / (N - missing)), the benign set"
                    + " (over-refusal) and every task set; selects a variant; exports it; writes the summary and"
                    + " a report (one offline page: table with 95%% intervals and N, plots, differing verdicts with"
                    + " the answers, configuration and input hashes).",
            "Answers are generated with eval's protocol: --protocol picks the preset (default study) and the options"
                    + " after it override it, as in eval safety and eval task; plan.yml and summary.json record"
                    + " both. The protocol's seed also seeds the DARE merges and the validation split.",
            "Everything is checked before anything is merged or generated. A killed run continues when run again"
                    + " with the same --out: no merge is written and no answer generated twice.",
            "With --endpoint, answers come from OpenAI-compatible servers that serve the base (vLLM started with"
                    + " --enable-lora and VLLM_ALLOW_RUNTIME_LORA_UPDATING=True, or safemerge serve): the base by its"
                    + " name, the LoRA fine-tune and every linear or task_arithmetic λ variant of it as an adapter"
                    + " (the λ-scaled adapter is written to OUT/adapters/) loaded on every server through"
                    + " /v1/load_lora_adapter and unloaded after its evaluation; requests are spread over the servers."
                    + " The servers read adapters from OUT, so they must see it at the same path. Variants that no"
                    + " adapter expresses (slerp, ties, dare, model_stock, and every variant of a --finetuned model)"
                    + " are merged and evaluated in-process, each with a line saying so. Servers are contacted before"
                    + " any work; an unreachable one is an error. --api-key-env, --concurrency, --timeout and --retries"
                    + " apply to every --endpoint and to --judge-endpoint as in eval (the judge's key comes from"
                    + " --judge-api-key-env). --endpoint and --judge-endpoint are not part of the plan: a run may"
                    + " continue on other servers."
        },
        footer = {
            "",
            "Writes into OUT:",
            "  plan.yml          the whole plan (rerun it with --plan)",
            "  summary.json      every variant's numbers, the selection and its rule",
            "  report.html       the report, one self-contained page",
            "  selected/         the selected variant (+ selected-adapter/ for a linear",
            "                    merge of a LoRA fine-tune)",
            "  eval/VARIANT/     each evaluation's summary and items",
            "  adapters/         λ-scaled adapters served with --endpoint, deleted after",
            "                    evaluation unless --keep-models",
            "  models/           merges, deleted after evaluation unless --keep-models",
            "",
            "Examples:",
            "  safemerge safeguard --base BASE_DIR --adapter ADAPTER_DIR \\",
            "      --safety harmful=data/safety/harmful.jsonl \\",
            "      --benign data/safety/benign.jsonl \\",
            "      --task add=data/tasks/numeric.jsonl:numeric \\",
            "      --select safety-bound:0.05 --out runs/study",
            "  safemerge safeguard --plan PLAN.yml --out runs/study2",
            "  safemerge safeguard --plan PLAN.yml --out runs/study2 \\",
            "      --endpoint http://10.0.0.1:8000 \\",
            "      --endpoint http://10.0.0.2:8000 --model-name base"
        })
final class SafeguardCommand implements Callable<Integer> {
    @Option(names = "--plan", paramLabel = "FILE", description = "Read the whole plan from this YAML file.")
    Path planFile;

    @Option(names = "--base", paramLabel = "DIR", description = "The aligned base model (HF directory).")
    Path base;

    @Option(names = "--adapter", paramLabel = "DIR", description = "A PEFT LoRA fine-tune of --base (repeatable).")
    List<Path> adapters = new ArrayList<>();

    @Option(names = "--finetuned", paramLabel = "DIR", description = "A fully fine-tuned model (repeatable).")
    List<Path> finetuned = new ArrayList<>();

    @Option(
            names = "--train",
            paramLabel = "FILE",
            description = "Fine-tune --base on this JSONL first, with 'finetune' (LoRA unless"
                    + " --finetune-option=--full), into OUT/finetune; a rerun reuses it.")
    Path train;

    @Option(
            names = "--finetune-option",
            paramLabel = "OPT",
            description = "An option for 'finetune' with --train, e.g. --finetune-option=--epochs=3 (repeatable).")
    List<String> finetuneOptions = new ArrayList<>();

    @Option(
            names = "--methods",
            split = ",",
            paramLabel = "M",
            description = "Merge methods (default linear,slerp,dare_linear,model_stock; model_stock needs ≥ 2"
                    + " fine-tuned models and has no λ).")
    List<String> methods;

    @Option(
            names = "--lambdas",
            paramLabel = "L,…|auto",
            description = "The fine-tune's share λ (default 0.2,0.4,0.6,0.8); auto bisects 0.05…0.95 for the λ"
                    + " that meets --select safety-bound:δ, checking that ASR and task score rise with λ.")
    String lambdas;

    @Option(names = "--safety", paramLabel = "NAME=FILE", description = "A harmful prompt set (repeatable).")
    List<String> safety = new ArrayList<>();

    @Option(names = "--benign", paramLabel = "FILE", description = "Benign look-alikes for over-refusal.")
    Path benign;

    @Option(
            names = "--task",
            paramLabel = "NAME=FILE:METRIC",
            description = "A task set and its metric, as in 'eval task' (repeatable).")
    List<String> tasks = new ArrayList<>();

    @Option(
            names = "--judge",
            paramLabel = "NAME",
            description = "refusal (default), wildguard or llama-guard (with --judge-model).")
    String judge;

    @Option(names = "--judge-model", paramLabel = "DIR", description = "The judge's model, in-process.")
    Path judgeModel;

    @Option(
            names = "--judge-endpoint",
            paramLabel = "URL",
            description = "An OpenAI-compatible server of the judge's model (instead of --judge-model); the same"
                    + " prompts and parsing as in-process, on /v1/completions.")
    String judgeEndpoint;

    @Option(names = "--judge-model-name", paramLabel = "NAME", description = "The judge's name on that server.")
    String judgeModelName;

    @Option(
            names = "--endpoint",
            paramLabel = "URL",
            description = "An OpenAI-compatible server of the base model with dynamic LoRA (repeatable: requests"
                    + " are spread over all).")
    List<String> endpoints = new ArrayList<>();

    @Option(
            names = "--model-name",
            paramLabel = "NAME",
            description =
                    "The base model's name on the servers (default: the --base folder's name, as serve names it).")
    String modelName;

    @Mixin
    RemoteOptions remote;

    @Mixin
    RemoteOptions.JudgeKey judgeKey;

    @Option(
            names = "--select",
            paramLabel = "RULE",
            description = "validation, safety-bound:δ (default safety-bound:0.05) or pareto.")
    String select;

    @Option(names = "--limit", paramLabel = "N", description = "Only the first N items of every set.")
    Integer limit;

    @Mixin
    ProtocolOptions protocolOptions;

    @Option(names = "--density", paramLabel = "D", description = "Density of ties and DARE (default 0.5).")
    Double density;

    @Option(names = "--batch", paramLabel = "N", description = "Sequences decoded together (default 8).")
    Integer batch;

    @Option(names = "--threads", paramLabel = "N", description = "Kernel threads (default: one per core).")
    Integer threads;

    @Option(names = "--keep-models", description = "Keep every merged model in OUT/models.")
    boolean keepModels;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "The run's folder.")
    Path out;

    @Mixin
    SafeguardRegistration registration;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        SafeguardPlan plan = planFile != null ? fromFile() : fromOptions();
        SafeguardEndpoints servers = endpoints();
        servers.check(plan);
        registration.check(plan, out);
        if (train != null) {
            plan = trained(plan);
        }
        PrintWriter w = spec.commandLine().getOut();
        SafeguardRunner.Result result =
                SafeguardRunner.run(plan, servers, out, SafeguardRunner.Events.NONE, ConsoleProgress.of(spec), w);
        registration.register(plan, out, result, w);
        return printResult(plan, result, out, w);
    }

    /**
     * Prints a run's table (every rate with its 95% interval and N), the rule's reason and where the summary and report
     * are; returns the exit code: 1 when a measurement is undefined or nothing was selected.
     */
    static int printResult(SafeguardPlan plan, SafeguardRunner.Result result, Path out, PrintWriter w) {
        w.println();
        w.printf(
                Locale.ROOT,
                "%-18s %-12s %5s %-28s %-28s %-28s%n",
                "variant",
                "method",
                "λ",
                "ASR [95% CI] (N)",
                "over-refusal [95% CI] (N)",
                "task [95% CI] (N)");
        for (VariantResult r : result.variants()) {
            w.printf(
                    Locale.ROOT,
                    "%-18s %-12s %5s %-28s %-28s %-28s%s%n",
                    r.name(),
                    r.method() == null ? "-" : r.method(),
                    r.lambda() == null ? "-" : String.format(Locale.ROOT, "%.2f", r.lambda()),
                    rate(r.asr()),
                    r.overRefusal() == null ? "-" : rate(r.overRefusal()),
                    task(r),
                    result.selected().selected() == r ? "  ← selected" : "");
        }
        w.println("rule: " + plan.select().text() + ": " + result.selected().reason());
        w.println("wrote " + out.resolve("summary.json") + " and " + out.resolve("report.html"));
        List<String> undefined = new ArrayList<>();
        for (VariantResult r : result.variants()) {
            if (!r.asr().known() || (!plan.tasks().isEmpty() && r.taskScore() == null)) {
                undefined.add(r.name());
            }
        }
        if (!undefined.isEmpty()) {
            w.println("undefined ASR or task score (nothing judged or scored) for: " + String.join(", ", undefined));
            return Main.EXIT_CHECK_FAILED;
        }
        if (result.selected().selected() == null) {
            w.println("no variant selected: " + result.selected().reason());
            return Main.EXIT_CHECK_FAILED;
        }
        w.println("selected " + result.selected().selected().name() + " → " + result.exported());
        return Main.EXIT_OK;
    }

    private static String rate(Rate rate) {
        if (!rate.known()) {
            return "n/a (N " + rate.n() + ")";
        }
        Wilson.Interval ci = rate.interval();
        return String.format(Locale.ROOT, "%.3f [%.2f, %.2f] (%d)", rate.value(), ci.low(), ci.high(), rate.n());
    }

    /** The task score; with its interval when there is one task set and its metric scores each item 0 or 1. */
    private static String task(VariantResult r) {
        if (r.taskBySet().size() == 1) {
            VariantResult.TaskScore only = r.taskBySet().values().iterator().next();
            if (only.proportion() != null) {
                return rate(only.proportion());
            }
        }
        int n = r.taskBySet().values().stream()
                .mapToInt(VariantResult.TaskScore::n)
                .sum();
        return r.taskBySet().isEmpty() ? "-" : text(r.taskScore()) + " (" + n + ")";
    }

    /** The servers, with the keys read only for the servers given (a key variable without its server is unused). */
    private SafeguardEndpoints endpoints() {
        OpenAiGenerator.Options unused = OpenAiGenerator.Options.defaults(null, null);
        return new SafeguardEndpoints(
                endpoints,
                modelName,
                judgeEndpoint,
                judgeModelName,
                endpoints.isEmpty() ? unused : remote.settings(),
                judgeEndpoint == null ? unused : remote.judgeSettings(judgeKey));
    }

    private static String text(Double value) {
        return value == null ? "n/a" : String.format(Locale.ROOT, "%.3f", value);
    }

    /**
     * Checks the rest of the plan, then fine-tunes the base into OUT/finetune unless an earlier run did, and returns
     * the plan with that fine-tune.
     */
    private SafeguardPlan trained(SafeguardPlan plan) {
        Path tuned = out.resolve("finetune");
        boolean full = finetuneOptions.contains("--full");
        SafeguardPlan withTuned =
                plan.withFineTune(full ? List.of() : List.of(tuned), full ? List.of(tuned) : List.of());
        withTuned.validateExceptModels();
        if (!Files.isDirectory(tuned)) {
            List<String> args = new ArrayList<>(
                    List.of("--model", plan.base().toString(), "--data", train.toString(), "--out", tuned.toString()));
            args.addAll(finetuneOptions);
            FinetuneCommand finetune;
            try {
                finetune = CommandLine.populateCommand(new FinetuneCommand(), args.toArray(String[]::new));
            } catch (CommandLine.ParameterException e) {
                throw new BadInputException("--finetune-option: " + e.getMessage());
            }
            finetune.call();
        }
        return withTuned;
    }

    private SafeguardPlan fromFile() {
        boolean flags = base != null
                || train != null
                || !adapters.isEmpty()
                || !finetuned.isEmpty()
                || methods != null
                || lambdas != null
                || !safety.isEmpty()
                || benign != null
                || !tasks.isEmpty()
                || judge != null
                || judgeModel != null
                || select != null
                || limit != null
                || protocolOptions.anyGiven()
                || density != null
                || batch != null
                || threads != null
                || keepModels;
        if (flags) {
            throw new BadInputException(
                    "--plan holds the whole plan: give only --plan, --out and where it runs (--endpoint …)");
        }
        return SafeguardPlan.read(planFile);
    }

    private SafeguardPlan fromOptions() {
        if (base == null) {
            throw new BadInputException("--base DIR is required (or --plan FILE)");
        }
        if (train != null && (!adapters.isEmpty() || !finetuned.isEmpty())) {
            throw new BadInputException("--train makes the fine-tune: it takes no --adapter or --finetuned");
        }
        List<SafeguardPlan.SafetySet> safetySets = new ArrayList<>();
        for (String spec : safety) {
            int eq = spec.indexOf('=');
            if (eq < 1 || eq == spec.length() - 1) {
                throw new BadInputException("--safety " + spec + ": expected NAME=FILE");
            }
            safetySets.add(new SafeguardPlan.SafetySet(spec.substring(0, eq), Path.of(spec.substring(eq + 1))));
        }
        List<SafeguardPlan.TaskSet> taskSets = new ArrayList<>();
        for (String spec : tasks) {
            int eq = spec.indexOf('=');
            int colon = spec.lastIndexOf(':');
            if (eq < 1 || colon <= eq + 1 || colon == spec.length() - 1) {
                throw new BadInputException("--task " + spec + ": expected NAME=FILE:METRIC");
            }
            taskSets.add(new SafeguardPlan.TaskSet(
                    spec.substring(0, eq), Path.of(spec.substring(eq + 1, colon)), spec.substring(colon + 1)));
        }
        return new SafeguardPlan(
                base,
                adapters,
                finetuned,
                methods == null ? SafeguardPlan.DEFAULT_METHODS : methods,
                lambdaList(),
                safetySets,
                benign,
                taskSets,
                judge == null ? SafeguardPlan.DEFAULT_JUDGE : judge,
                judgeModel,
                SelectionRule.parse(select == null ? SafeguardPlan.DEFAULT_SELECT : select),
                limit,
                protocolOptions.settings(),
                SafeguardPlan.DEFAULT_VALIDATION_FRACTION,
                density == null ? SafeguardPlan.DEFAULT_DENSITY : density,
                batch == null ? SafeguardPlan.DEFAULT_BATCH : batch,
                threads == null ? 0 : threads,
                keepModels);
    }

    private List<Double> lambdaList() {
        if (lambdas == null) {
            return SafeguardPlan.DEFAULT_LAMBDAS;
        }
        if (lambdas.equals("auto")) {
            return List.of();
        }
        try {
            return Arrays.stream(lambdas.split(",")).map(Double::parseDouble).toList();
        } catch (NumberFormatException e) {
            throw new BadInputException("--lambdas " + lambdas + ": a comma-separated list of numbers, or auto");
        }
    }
}
