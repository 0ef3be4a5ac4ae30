package dev.safemerge.eval.run;

import dev.safemerge.eval.Json;
import dev.safemerge.eval.data.PromptItem;
import dev.safemerge.eval.gen.CachedGenerator;
import dev.safemerge.eval.gen.GenerationCache;
import dev.safemerge.eval.gen.GenerationRequest;
import dev.safemerge.eval.gen.ResponseGenerator;
import dev.safemerge.eval.gen.SamplingParams;
import dev.safemerge.eval.judge.RefusalJudge;
import dev.safemerge.tensor.Progress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** A separate JVM that runs a slow safety evaluation, so that a test can kill it with SIGKILL midway. */
public final class ResumeWorker {
    static final String MODEL = "resume-test-model";

    /** Generates "answer to " + the user prompt, one request at a time, slowly. */
    static final class SlowGenerator implements ResponseGenerator {
        final List<String> generated = new ArrayList<>();
        final long delayMillis;

        SlowGenerator(long delayMillis) {
            this.delayMillis = delayMillis;
        }

        @Override
        public String modelIdentity() {
            return MODEL;
        }

        @Override
        public String describe() {
            return "slow test generator";
        }

        @Override
        public void generate(List<GenerationRequest> requests, SamplingParams params, ResponseSink sink) {
            for (int i = 0; i < requests.size(); i++) {
                var chat = (GenerationRequest.Chat) requests.get(i);
                String prompt = chat.messages().getLast().content();
                try {
                    Thread.sleep(delayMillis);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException(e);
                }
                synchronized (generated) {
                    generated.add(prompt);
                }
                sink.accept(i, "answer to " + prompt);
            }
        }
    }

    static List<PromptItem> prompts(int n) {
        List<PromptItem> items = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            items.add(new PromptItem(Integer.toString(i), "prompt number " + i, "c" + (i % 2)));
        }
        return items;
    }

    static void evaluate(int n, Path out, ResponseGenerator backend) {
        try (GenerationCache cache = GenerationCache.open(out.resolve("generation-cache.jsonl"))) {
            SafetyEvaluation.run(
                    prompts(n),
                    new AnswerSource.Generated(new CachedGenerator(backend, cache)),
                    Protocol.Preset.STUDY.protocol(null),
                    new RefusalJudge(),
                    false,
                    SafetyEvaluation.DEFAULT_MAX_MISS_RATE,
                    Json.object(),
                    out,
                    Progress.SILENT);
        }
    }

    public static void main(String[] args) {
        evaluate(Integer.parseInt(args[0]), Path.of(args[1]), new SlowGenerator(Long.parseLong(args[2])));
    }

    private ResumeWorker() {}
}
