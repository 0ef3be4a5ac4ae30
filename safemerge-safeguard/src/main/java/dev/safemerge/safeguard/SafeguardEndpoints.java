package dev.safemerge.safeguard;

import dev.safemerge.eval.gen.OpenAiGenerator;
import dev.safemerge.tensor.BadInputException;
import java.util.List;

/**
 * Where a plan runs, beside what it is: OpenAI-compatible servers for generation and for the judge. Not part of
 * {@code plan.yml}: a run may continue on other servers, since answers are cached by the content of the model that gave
 * them, not by the server.
 *
 * @param generation servers of the base model (vLLM with dynamic LoRA, or {@code safemerge serve}); empty: in-process
 * @param modelName the base model's name on those servers
 * @param judge the judge model's server, or null
 * @param judgeModelName the judge model's name on that server
 * @param settings key, concurrency, timeouts and retries for the generation servers (endpoint and name are set per
 *     server)
 * @param judgeSettings the same for the judge's server
 */
public record SafeguardEndpoints(
        List<String> generation,
        String modelName,
        String judge,
        String judgeModelName,
        OpenAiGenerator.Options settings,
        OpenAiGenerator.Options judgeSettings) {
    /** In-process generation and judging: no server (the settings are never used). */
    public static final SafeguardEndpoints NONE = new SafeguardEndpoints(
            List.of(),
            null,
            null,
            null,
            OpenAiGenerator.Options.defaults(null, null),
            OpenAiGenerator.Options.defaults(null, null));

    public SafeguardEndpoints {
        generation = List.copyOf(generation);
    }

    /** Checks these options against the plan without contacting a server; throws naming the option. */
    public void check(SafeguardPlan plan) {
        if (generation.isEmpty() && modelName != null) {
            throw new BadInputException("--model-name names the base model on an --endpoint; give one");
        }
        if (judge == null && judgeModelName != null) {
            throw new BadInputException("--judge-model-name goes with --judge-endpoint");
        }
        if (judge != null && judgeModelName == null) {
            throw new BadInputException("--judge-endpoint needs --judge-model-name (the judge's name on the server)");
        }
        boolean modelJudge = !plan.judge().equals("refusal");
        if (!modelJudge && judge != null) {
            throw new BadInputException("--judge " + plan.judge() + " takes no --judge-endpoint");
        }
        if (modelJudge && (judge == null) == (plan.judgeModel() == null)) {
            throw new BadInputException("--judge " + plan.judge()
                    + " needs either --judge-model DIR or --judge-endpoint URL (one of the two)");
        }
    }
}
