package dev.safemerge.model.generate;

import dev.safemerge.tensor.Progress;
import java.util.ArrayList;
import java.util.List;

/**
 * Continuous batching: up to {@code maxBatch} sequences advance together, one forward step per generated token
 * (new sequences prefill their whole prompt in the same step); a finished sequence's slot is refilled with the next
 * waiting prompt at once. Each sequence samples with its own seeded sampler, so results do not depend on batching,
 * and runs with its own adapter: sequences of different adapters (or none) share the batch and the base weights.
 */
public final class BatchGenerator implements Generator {
    private final StepModel model;
    private final int maxBatch;

    public BatchGenerator(StepModel model, int maxBatch) {
        if (maxBatch < 1) {
            throw new IllegalArgumentException("maxBatch must be >= 1, got " + maxBatch);
        }
        this.model = model;
        this.maxBatch = maxBatch;
    }

    @Override
    public int maxBatch() {
        return maxBatch;
    }

    @Override
    public int contextLength() {
        return model.contextLength();
    }

    private static final class Sequence {
        final int index;
        final KvCache cache;
        final Sampler sampler;
        final ScaledAdapter adapter;
        final int promptTokens;
        final List<Integer> generated = new ArrayList<>();
        int[] input;

        Sequence(int index, KvCache cache, Sampler sampler, ScaledAdapter adapter, int[] prompt) {
            this.index = index;
            this.cache = cache;
            this.sampler = sampler;
            this.adapter = adapter;
            this.promptTokens = prompt.length;
            this.input = prompt.clone();
        }
    }

    @Override
    public List<GenerationResult> generateSequences(
            List<SequenceSpec> sequences, Sampling params, TokenCallback callback, Progress progress) {
        int vocab = model.vocabSize();
        int[] eos = params.ignoreEos() ? new int[0] : model.eosTokenIds();
        GenerationResult[] results = new GenerationResult[sequences.size()];
        for (int i = 0; i < sequences.size(); i++) {
            int[] prompt = sequences.get(i).prompt();
            if (prompt.length == 0) {
                throw new IllegalArgumentException("prompt " + i + " is empty");
            }
            for (int id : prompt) {
                if (id < 0 || id >= vocab) {
                    throw new IllegalArgumentException(
                            "prompt " + i + ": token id " + id + " is outside the vocabulary of " + vocab);
                }
            }
        }
        List<Sequence> active = new ArrayList<>();
        int next = 0;
        while (next < sequences.size() || !active.isEmpty()) {
            while (active.size() < maxBatch && next < sequences.size()) {
                SequenceSpec spec = sequences.get(next);
                int[] prompt = spec.prompt();
                if (params.maxNewTokens() == 0) {
                    results[next] = new GenerationResult(new int[0], GenerationResult.LENGTH, prompt.length);
                    next++;
                    continue;
                }
                Sampler sampler = new Sampler(params, spec.samplerIndex(), vocab);
                for (int id : prompt) {
                    sampler.observe(id);
                }
                active.add(new Sequence(
                        next, model.newCache(prompt.length + params.maxNewTokens()), sampler, spec.adapter(), prompt));
                next++;
            }
            if (active.isEmpty()) {
                continue;
            }
            List<KvCache> caches = new ArrayList<>(active.size());
            List<int[]> inputs = new ArrayList<>(active.size());
            List<ScaledAdapter> adapters = new ArrayList<>(active.size());
            for (Sequence s : active) {
                caches.add(s.cache);
                inputs.add(s.input);
                adapters.add(s.adapter);
            }
            float[] logits = model.step(caches, inputs, adapters);
            List<Sequence> finished = new ArrayList<>();
            for (int i = 0; i < active.size(); i++) {
                Sequence s = active.get(i);
                int token = s.sampler.next(logits, i * vocab, vocab);
                s.sampler.observe(token);
                s.generated.add(token);
                s.input = new int[] {token};
                progress.step(1);
                String reason = null;
                if (!callback.accept(s.index, token)) {
                    reason = GenerationResult.CALLBACK;
                } else if (contains(eos, token)) {
                    reason = GenerationResult.STOP;
                } else if (s.generated.size() >= params.maxNewTokens()) {
                    reason = GenerationResult.LENGTH;
                }
                if (reason != null) {
                    int[] ids = s.generated.stream().mapToInt(Integer::intValue).toArray();
                    results[s.index] = new GenerationResult(ids, reason, s.promptTokens);
                    finished.add(s);
                }
            }
            active.removeAll(finished);
        }
        return List.of(results);
    }

    private static boolean contains(int[] values, int value) {
        for (int v : values) {
            if (v == value) {
                return true;
            }
        }
        return false;
    }
}
