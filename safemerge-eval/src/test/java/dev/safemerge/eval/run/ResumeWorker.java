package dev.safemerge.eval.run;

import dev.safemerge.eval.Json;
import dev.safemerge.eval.data.PromptItem;
import dev.safemerge.eval.gen.CachedGenerator;
import dev.safemerge.eval.gen.GenerationCache;
import dev.safemerge.eval.gen.GenerationRequest;
import dev.safemerge.eval.gen.ResponseGenerator;
import dev.safemerge.eval.judge.RefusalJudge;
import dev.safemerge.model.generate.Sampling;
import dev.safemerge.tensor.Progress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;

/** A separate JVM that runs a safety evaluation which stops midway, so that a test can kill it there with SIGKILL. */
public final class ResumeWorker {
    static final String MODEL = "resume-test-model";

    /**
     * Generates "answer to " + the user prompt, one request at a time; after {@code answers} answers it waits for
     * ever, so that a run killed there has exactly that many answers behind it.
     */
    static final class StoppingGenerator implements ResponseGenerator {
        final List<String> generated = new ArrayList<>();
        final int answers;

        StoppingGenerator(int answers) {
            this.answers = answers;
        }

        @Override
        public String modelIdentity() {
            return MODEL;
        }

        @Override
        public String describe() {
            return "stopping test generator";
        }

        @Override
        public void generate(List<GenerationRequest> requests, Sampling params, ResponseSink sink) {
            for (int i = 0; i < requests.size(); i++) {
                var chat = (GenerationRequest.Chat) requests.get(i);
                String prompt = chat.messages().getLast().content();
                if (generated.size() == answers) {
                    try {
                        new CountDownLatch(1).await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new IllegalStateException(e);
                    }
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
        evaluate(Integer.parseInt(args[0]), Path.of(args[1]), new StoppingGenerator(Integer.parseInt(args[2])));
    }

    private ResumeWorker() {}
}
