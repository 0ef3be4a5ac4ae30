package dev.safemerge.eval.judge;

import dev.safemerge.eval.gen.GenerationRequest;
import dev.safemerge.eval.gen.ResponseGenerator;
import dev.safemerge.model.generate.Sampling;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/** The loop of classifier judges: one raw completion per exchange in one batch, each output parsed to a verdict. */
final class CompletionJudging {
    private CompletionJudging() {}

    static List<Judgement> judge(
            ResponseGenerator generator,
            Sampling sampling,
            List<Exchange> exchanges,
            Function<Exchange, String> input,
            Function<String, Judgement> judgement) {
        List<GenerationRequest> requests = new ArrayList<>();
        for (Exchange exchange : exchanges) {
            requests.add(new GenerationRequest.Raw(input.apply(exchange)));
        }
        List<Judgement> out = new ArrayList<>();
        for (String raw : generator.generateAll(requests, sampling)) {
            out.add(judgement.apply(raw));
        }
        return out;
    }
}
