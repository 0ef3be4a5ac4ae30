package dev.safemerge.eval.run;

import dev.safemerge.eval.data.RecordedResponses;
import dev.safemerge.eval.gen.GenerationRequest;
import dev.safemerge.eval.gen.ResponseGenerator;
import dev.safemerge.model.generate.Sampling;
import dev.safemerge.tensor.Progress;
import java.util.ArrayList;
import java.util.List;

/** Where responses come from: a generation backend (normally behind the cache) or answers recorded elsewhere. */
public sealed interface AnswerSource {
    String describe();

    /**
     * Responses for each request, {@code samples} per request (sample s uses seed + s, so sampled runs differ per
     * sample and stay reproducible). Recorded answers are looked up by {@code keys} and cut at the stop strings.
     */
    List<List<String>> answers(
            List<String> keys, List<GenerationRequest> requests, Sampling params, int samples, Progress progress);

    record Generated(ResponseGenerator generator) implements AnswerSource {
        @Override
        public String describe() {
            return generator.describe();
        }

        @Override
        public List<List<String>> answers(
                List<String> keys, List<GenerationRequest> requests, Sampling params, int samples, Progress progress) {
            List<List<String>> out = new ArrayList<>();
            for (int i = 0; i < requests.size(); i++) {
                out.add(new ArrayList<>());
            }
            for (int s = 0; s < samples; s++) {
                Sampling sample = params.withSeed(params.seed() + s);
                String[] responses = new String[requests.size()];
                generator.generate(requests, sample, (index, response) -> {
                    responses[index] = response;
                    progress.step(1);
                });
                for (int i = 0; i < responses.length; i++) {
                    out.get(i).add(responses[i]);
                }
            }
            return out;
        }
    }

    record Recorded(RecordedResponses recorded, String file) implements AnswerSource {
        @Override
        public String describe() {
            return "responses recorded in " + file;
        }

        @Override
        public List<List<String>> answers(
                List<String> keys, List<GenerationRequest> requests, Sampling params, int samples, Progress progress) {
            List<List<String>> out = new ArrayList<>();
            for (String key : keys) {
                List<String> found = recorded.responses(key);
                List<String> cut = new ArrayList<>();
                for (String response : found.subList(0, Math.min(samples, found.size()))) {
                    cut.add(params.applyStop(response));
                }
                out.add(cut);
                progress.step(1);
            }
            return out;
        }
    }
}
