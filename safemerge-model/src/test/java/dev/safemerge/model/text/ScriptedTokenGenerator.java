package dev.safemerge.model.text;

import dev.safemerge.model.generate.Sampling;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * A deterministic token generator for tests: each prompt's continuation is a scripted text (a function of the
 * decoded prompt) followed by the end-of-sequence token. Sequences advance one token per step, interleaved the way
 * a batched engine interleaves them. {@link #batchSizes()} records the number of prompts of each call.
 */
public final class ScriptedTokenGenerator implements TokenGenerator {
    private final HfTokenizer tokenizer;
    private final Function<String, String> script;
    private final int maxBatch;
    private final int contextLength;
    private final AtomicInteger calls = new AtomicInteger();
    private final List<Integer> batchSizes = java.util.Collections.synchronizedList(new ArrayList<>());
    private volatile CountDownLatch gate;

    /** A generator whose context window is unbounded. */
    public ScriptedTokenGenerator(HfTokenizer tokenizer, Function<String, String> script, int maxBatch) {
        this(tokenizer, script, maxBatch, Integer.MAX_VALUE);
    }

    public ScriptedTokenGenerator(
            HfTokenizer tokenizer, Function<String, String> script, int maxBatch, int contextLength) {
        this.tokenizer = tokenizer;
        this.script = script;
        this.maxBatch = maxBatch;
        this.contextLength = contextLength;
    }

    /** Each call first waits for the gate to open, so that tests can keep the generator busy for as long as they need. */
    public void holdEachCallUntil(CountDownLatch gate) {
        this.gate = gate;
    }

    public int calls() {
        return calls.get();
    }

    public List<Integer> batchSizes() {
        return List.copyOf(batchSizes);
    }

    @Override
    public int maxBatch() {
        return maxBatch;
    }

    @Override
    public int contextLength() {
        return contextLength;
    }

    @Override
    public List<TokenOutput> generate(List<int[]> prompts, Sampling options, TokenListener listener) {
        calls.incrementAndGet();
        batchSizes.add(prompts.size());
        CountDownLatch gate = this.gate;
        if (gate != null) {
            try {
                gate.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
        int eos = tokenizer.eosTokenIds().iterator().next();
        List<int[]> targets = new ArrayList<>();
        for (int[] prompt : prompts) {
            int[] text = tokenizer.encode(script.apply(tokenizer.decode(prompt, false)), false);
            int[] withEos = Arrays.copyOf(text, text.length + 1);
            withEos[text.length] = eos;
            targets.add(withEos);
        }
        int n = prompts.size();
        int[] produced = new int[n];
        String[] reasons = new String[n];
        int active = n;
        while (active > 0) {
            for (int s = 0; s < n; s++) {
                if (reasons[s] != null) {
                    continue;
                }
                int token = targets.get(s)[produced[s]];
                produced[s]++;
                boolean more = listener.accept(s, token);
                if (token == eos && !options.ignoreEos()) {
                    reasons[s] = "stop";
                } else if (!more) {
                    reasons[s] = "callback";
                } else if (produced[s] >= options.maxNewTokens() || produced[s] == targets.get(s).length) {
                    reasons[s] = "length";
                }
                if (reasons[s] != null) {
                    active--;
                }
            }
        }
        List<TokenOutput> outputs = new ArrayList<>();
        for (int s = 0; s < n; s++) {
            outputs.add(new TokenOutput(Arrays.copyOf(targets.get(s), produced[s]), reasons[s], prompts.get(s).length));
        }
        return outputs;
    }
}
