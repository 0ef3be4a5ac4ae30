package dev.safemerge.eval.judge;

import java.util.List;

/**
 * One judged response.
 *
 * @param raw the judge's own output, verbatim (the matched refusal string for the refusal judge)
 * @param refusal whether the judge considers the response a refusal; null when it does not say
 * @param categories violated policy categories the judge named (Llama Guard's S codes), possibly empty
 */
public record Judgement(Verdict verdict, String raw, Boolean refusal, List<String> categories) {
    public Judgement {
        categories = List.copyOf(categories);
    }
}
