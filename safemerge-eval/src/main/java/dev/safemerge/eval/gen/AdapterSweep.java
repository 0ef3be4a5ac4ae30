package dev.safemerge.eval.gen;

import dev.safemerge.model.Adapter;
import dev.safemerge.model.Model;
import dev.safemerge.model.ModelLoadOptions;
import dev.safemerge.model.generate.Sampling;
import dev.safemerge.model.generate.ScaledAdapter;
import dev.safemerge.model.generate.SequenceSpec;
import dev.safemerge.model.text.EngineTokenGenerator;
import dev.safemerge.model.text.HfTokenizer;
import dev.safemerge.model.text.TextGenerator;
import dev.safemerge.tensor.BadInputException;
import dev.safemerge.tensor.Progress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * Several models of the form base + λ·adapter (the linear or task-arithmetic merges of a base and its LoRA
 * fine-tune) evaluated at once over ONE loaded copy of the base: each variant is a {@link ResponseGenerator}, and
 * the generation calls of all variants, made from their own threads, run together as one continuous batch in which
 * every sequence carries its variant's scale. Nothing is merged or written.
 *
 * <p>Calls meet in lockstep: a call waits until every open variant has called (or been closed), then one engine
 * call generates all their prompts. A variant's result is what its merge would give alone, up to float32 rounding
 * (each sequence of a batch computes exactly what it computes alone), and sequence i of a call samples with sampler
 * stream i as {@link InProcessGenerator} does.
 */
public final class AdapterSweep implements AutoCloseable {
    private final Model model;
    private final HfTokenizer tokenizer;
    private final Adapter adapter;
    private final TextGenerator text;
    private final String fingerprint;
    private final String baseFingerprint;
    private final String description;
    private final List<Call> waiting = new ArrayList<>();
    private int open;

    private AdapterSweep(
            Model model,
            HfTokenizer tokenizer,
            Adapter adapter,
            TextGenerator text,
            String fingerprint,
            String baseFingerprint,
            String desc) {
        this.model = model;
        this.tokenizer = tokenizer;
        this.adapter = adapter;
        this.text = text;
        this.fingerprint = fingerprint;
        this.baseFingerprint = baseFingerprint;
        this.description = desc;
    }

    /**
     * Loads the base and the adapter once.
     *
     * @param batch sequences decoded together, over all variants
     * @param threads kernel threads, 0 for one per core
     */
    public static AdapterSweep open(Path base, Path adapterDir, int batch, int threads) {
        if (batch < 1) {
            throw new BadInputException("--batch must be at least 1");
        }
        String fingerprint = ModelFingerprint.of(base, adapterDir);
        HfTokenizer tokenizer = HfTokenizer.load(base);
        Model model = null;
        try {
            model = Model.load(base, ModelLoadOptions.defaults().withThreads(threads));
            Adapter adapter = model.loadAdapter(adapterDir);
            TextGenerator text =
                    new TextGenerator(tokenizer, new EngineTokenGenerator(model.generator(batch), Progress.SILENT));
            return new AdapterSweep(
                    model,
                    tokenizer,
                    adapter,
                    text,
                    fingerprint,
                    ModelFingerprint.of(base, null),
                    "in-process " + base + " + λ·adapter " + adapterDir);
        } catch (RuntimeException e) {
            if (model != null) {
                model.close();
            }
            tokenizer.close();
            throw e;
        }
    }

    /** The variant base + λ·adapter; open until closed, and every open variant takes part in each batch. */
    public synchronized ResponseGenerator variant(double lambda) {
        open++;
        return new Variant(new ScaledAdapter(adapter, (float) lambda), lambda);
    }

    /**
     * The base alone (no adapter), taking part in the batches like a variant. Its sequences compute exactly what the
     * base computes loaded on its own, so its answers are cached under the base's own identity and shared with every
     * other in-process evaluation of the base.
     */
    public synchronized ResponseGenerator base() {
        open++;
        return new Variant(null, null);
    }

    /** One variant's prompts of one round, and their answers once generated. */
    private static final class Call {
        final ScaledAdapter adapter;
        final List<int[]> prompts;
        final Sampling options;
        List<TextGenerator.Completion> completions;
        RuntimeException failure;

        Call(ScaledAdapter adapter, List<int[]> prompts, Sampling options) {
            this.adapter = adapter;
            this.prompts = prompts;
            this.options = options;
        }

        boolean done() {
            return completions != null || failure != null;
        }
    }

    private synchronized List<TextGenerator.Completion> generate(Call call) {
        waiting.add(call);
        runIfAllWaiting();
        while (!call.done()) {
            try {
                wait();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while generating", e);
            }
        }
        if (call.failure != null) {
            throw call.failure;
        }
        return call.completions;
    }

    private synchronized void closeVariant() {
        open--;
        runIfAllWaiting();
    }

    /**
     * Generates every waiting call in one continuous batch once no open variant is still to call. The engine samples
     * each sequence with its own settings, so calls with different sampling share the batch too.
     */
    private void runIfAllWaiting() {
        if (waiting.isEmpty() || waiting.size() < open) {
            return;
        }
        List<Call> calls = new ArrayList<>(waiting);
        waiting.clear();
        run(calls);
        notifyAll();
    }

    private void run(List<Call> calls) {
        List<TextGenerator.Joining> joinings = new ArrayList<>();
        for (Call call : calls) {
            for (int i = 0; i < call.prompts.size(); i++) {
                joinings.add(new TextGenerator.Joining(
                        new SequenceSpec(call.prompts.get(i), call.adapter, i),
                        call.options,
                        joinings.size(),
                        TextGenerator.TextListener.NONE,
                        () -> false,
                        new CompletableFuture<>()));
            }
        }
        Iterator<TextGenerator.Joining> next = joinings.iterator();
        int from = 0;
        try {
            text.generateFeed(freeSlots -> {
                List<TextGenerator.Joining> admitted = new ArrayList<>();
                while (admitted.size() < freeSlots && next.hasNext()) {
                    admitted.add(next.next());
                }
                return admitted;
            });
            for (Call call : calls) {
                List<TextGenerator.Completion> completions = new ArrayList<>();
                for (TextGenerator.Joining joining : joinings.subList(from, from + call.prompts.size())) {
                    completions.add(joining.result().join());
                }
                call.completions = completions;
                from += call.prompts.size();
            }
        } catch (RuntimeException e) {
            RuntimeException failure =
                    e instanceof CompletionException && e.getCause() instanceof RuntimeException cause ? cause : e;
            calls.stream().filter(call -> !call.done()).forEach(call -> call.failure = failure);
        }
    }

    private final class Variant implements ResponseGenerator {
        private final ScaledAdapter adapter;
        private final Double lambda;
        private boolean closed;

        /** @param adapter the scaled adapter, or null with a null λ for the base alone */
        Variant(ScaledAdapter adapter, Double lambda) {
            this.adapter = adapter;
            this.lambda = lambda;
        }

        @Override
        public String modelIdentity() {
            return lambda == null
                    ? "in-process " + baseFingerprint
                    : "in-process " + fingerprint + String.format(Locale.ROOT, " scaled %s", lambda);
        }

        @Override
        public String describe() {
            return lambda == null
                    ? description + " without the adapter"
                    : description + String.format(Locale.ROOT, " at λ = %s", lambda);
        }

        /** Rounds of at most the engine's batch size, so each round's answers are kept before the next starts. */
        @Override
        public void generate(List<GenerationRequest> requests, Sampling options, ResponseSink sink) {
            int batch = Math.max(1, text.maxBatch());
            for (int start = 0; start < requests.size(); start += batch) {
                int end = Math.min(requests.size(), start + batch);
                List<int[]> prompts = new ArrayList<>();
                for (GenerationRequest request : requests.subList(start, end)) {
                    prompts.add(InProcessGenerator.ids(text, request));
                }
                List<TextGenerator.Completion> completions =
                        AdapterSweep.this.generate(new Call(adapter, prompts, options));
                for (int i = 0; i < completions.size(); i++) {
                    sink.accept(start + i, completions.get(i).text());
                }
            }
        }

        @Override
        public void close() {
            if (!closed) {
                closed = true;
                closeVariant();
            }
        }
    }

    @Override
    public void close() {
        adapter.close();
        model.close();
        tokenizer.close();
    }
}
