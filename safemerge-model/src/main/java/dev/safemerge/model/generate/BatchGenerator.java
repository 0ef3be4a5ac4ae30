package dev.safemerge.model.generate;

import dev.safemerge.tensor.Progress;
import java.util.ArrayList;
import java.util.List;

/**
 * Continuous batching: up to {@code maxBatch} sequences advance together, one forward step per generated token
 * (new sequences prefill their whole prompt in the same step); a finished sequence's slot is refilled with the next
 * waiting prompt at once ({@link #generate(SequenceFeed, TokenCallback, Progress)} takes waiting sequences from a
 * feed, so they can arrive while the batch runs). Each sequence samples with its own settings and seeded sampler, so
 * results do not depend on batching,
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
    public long kvBytes(long positions) {
        return model.kvBytes(positions);
    }

    @Override
    public int contextLength() {
        return model.contextLength();
    }

    private static final class Sequence {
        final int index;
        final KvCache cache;
        final Sampler sampler;
        final int[] eos;
        final ScaledAdapter adapter;
        final int promptTokens;
        final int maxNewTokens;
        final List<Integer> generated = new ArrayList<>();
        int[] input;
        String reason;

        Sequence(
                int index,
                KvCache cache,
                Sampler sampler,
                int[] eos,
                ScaledAdapter adapter,
                int[] prompt,
                int maxNewTokens) {
            this.index = index;
            this.cache = cache;
            this.sampler = sampler;
            this.eos = eos;
            this.adapter = adapter;
            this.promptTokens = prompt.length;
            this.maxNewTokens = maxNewTokens;
            this.input = prompt.clone();
        }
    }

    @Override
    public List<GenerationResult> generateSequences(
            List<SequenceSpec> sequences, Sampling params, TokenCallback callback, Progress progress) {
        for (int i = 0; i < sequences.size(); i++) {
            checkPrompt(sequences.get(i).prompt(), i);
        }
        GenerationResult[] results = new GenerationResult[sequences.size()];
        generate(
                new SequenceFeed() {
                    int next;

                    @Override
                    public List<Joining> admit(int freeSlots) {
                        int end = Math.min(sequences.size(), next + freeSlots);
                        List<Joining> joining = new ArrayList<>();
                        for (; next < end; next++) {
                            joining.add(new Joining(sequences.get(next), params));
                        }
                        return joining;
                    }

                    @Override
                    public void finished(int index, GenerationResult result) {
                        results[index] = result;
                    }
                },
                callback,
                progress);
        return List.of(results);
    }

    @Override
    public void generate(SequenceFeed feed, TokenCallback callback, Progress progress) {
        int vocab = model.vocabSize();
        List<Sequence> active = new ArrayList<>();
        int admitted = 0;
        while (true) {
            int admittedBefore = admitted;
            if (active.size() < maxBatch) {
                for (SequenceFeed.Joining joining : feed.admit(maxBatch - active.size())) {
                    if (active.size() >= maxBatch) {
                        throw new IllegalStateException("the feed admitted more sequences than free slots");
                    }
                    int index = admitted++;
                    int[] prompt = joining.spec().prompt();
                    checkPrompt(prompt, index);
                    Sampling sampling = joining.sampling();
                    int maxNewTokens = sampling.maxNewTokens();
                    if (maxNewTokens == 0) {
                        feed.finished(index, new GenerationResult(new int[0], GenerationResult.LENGTH, prompt.length));
                        continue;
                    }
                    Sampler sampler = new Sampler(sampling, joining.spec().samplerIndex(), vocab);
                    for (int id : prompt) {
                        sampler.observe(id);
                    }
                    active.add(new Sequence(
                            index,
                            model.newCache(prompt.length + maxNewTokens),
                            sampler,
                            sampling.ignoreEos() ? new int[0] : model.eosTokenIds(),
                            joining.spec().adapter(),
                            prompt,
                            maxNewTokens));
                }
            }
            if (active.isEmpty()) {
                if (admitted == admittedBefore) {
                    return;
                }
                continue; // all admitted sequences wanted no tokens; the feed may hold more
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
                } else if (contains(s.eos, token)) {
                    reason = GenerationResult.STOP;
                } else if (s.generated.size() >= s.maxNewTokens) {
                    reason = GenerationResult.LENGTH;
                }
                if (reason != null) {
                    finished.add(s);
                    s.reason = reason;
                }
            }
            active.removeAll(finished);
            for (Sequence s : finished) {
                int[] ids = s.generated.stream().mapToInt(Integer::intValue).toArray();
                feed.finished(s.index, new GenerationResult(ids, s.reason, s.promptTokens));
            }
        }
    }

    private void checkPrompt(int[] prompt, int index) {
        if (prompt.length == 0) {
            throw new IllegalArgumentException("prompt " + index + " is empty");
        }
        int vocab = model.vocabSize();
        for (int id : prompt) {
            if (id < 0 || id >= vocab) {
                throw new IllegalArgumentException(
                        "prompt " + index + ": token id " + id + " is outside the vocabulary of " + vocab);
            }
        }
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
