package dev.safemerge.model.text;

import dev.safemerge.model.generate.GenerationResult;
import dev.safemerge.model.generate.Sampling;
import dev.safemerge.model.generate.SequenceFeed;
import dev.safemerge.model.generate.SequenceSpec;
import dev.safemerge.tensor.BadInputException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.BooleanSupplier;
import java.util.function.IntPredicate;

/**
 * Text in, text out: prompts or chat conversations go through the chat template and the tokenizer to a
 * {@link TokenGenerator}, and the generated tokens come back as text, with stop strings and streaming deltas that
 * only ever contain complete characters. All prompts of a call go to the token generator at once, which decodes
 * {@link #maxBatch()} of them together and refills finished slots (continuous batching).
 */
public final class TextGenerator {
    private final HfTokenizer tokenizer;
    private final TokenGenerator tokens;

    public TextGenerator(HfTokenizer tokenizer, TokenGenerator tokens) {
        this.tokenizer = tokenizer;
        this.tokens = tokens;
    }

    public HfTokenizer tokenizer() {
        return tokenizer;
    }

    /** The number of sequences the engine decodes together. */
    public int maxBatch() {
        return tokens.maxBatch();
    }

    /** The context window in tokens: a prompt and its generated tokens together must fit in it. */
    public int contextLength() {
        return tokens.contextLength();
    }

    /**
     * Bytes of KV cache a sequence of {@code positions} positions (prompt and generated tokens) holds; sliding-window
     * layers keep at most their window.
     */
    public long kvBytes(long positions) {
        return tokens.kvBytes(positions);
    }

    /**
     * Refuses a prompt that, with {@code maxNewTokens} generated tokens, does not fit in the context window, before
     * any work is done for it.
     *
     * @param what names the prompt in the message ("prompt 3", "the conversation")
     */
    public void checkFits(int[] prompt, int maxNewTokens, String what) {
        int window = contextLength();
        if ((long) prompt.length + maxNewTokens > window) {
            throw new BadInputException(what + ": " + prompt.length + " prompt tokens + " + maxNewTokens
                    + " new tokens exceed the model's context window of " + window + " tokens");
        }
    }

    /**
     * One generated text.
     *
     * @param text the generated text, cut before a stop string if one was hit
     * @param tokenIds the generated token ids
     * @param finishReason "stop" (end-of-sequence token or stop string) or "length" (token limit)
     * @param promptTokens prompt length in tokens
     */
    public record Completion(String text, int[] tokenIds, String finishReason, int promptTokens) {
        public int completionTokens() {
            return tokenIds.length;
        }
    }

    /** Receives text deltas of sequence {@code sequence} as they become final. */
    @FunctionalInterface
    public interface TextListener {
        void onText(int sequence, String delta);

        TextListener NONE = (sequence, delta) -> {};
    }

    /** Completes plain prompts (the tokenizer adds BOS where its post-processor does). */
    public List<Completion> complete(List<String> prompts, Sampling options) {
        return generate(prompts.stream().map(this::promptIds).toList(), options, TextListener.NONE);
    }

    /** Answers conversations through the model's chat template, with the generation prompt added. */
    public List<Completion> chat(List<List<ChatMessage>> conversations, Sampling options) {
        List<int[]> prompts = new ArrayList<>();
        for (List<ChatMessage> conversation : conversations) {
            prompts.add(chatIds(conversation.stream().map(ChatMessage::asMap).toList(), null));
        }
        return generate(prompts, options, TextListener.NONE);
    }

    /** Token ids of a plain prompt. */
    public int[] promptIds(String prompt) {
        return tokenizer.encode(prompt, true);
    }

    /** The chat template's text for a conversation, ending with the assistant's generation prompt. */
    public String renderChat(List<? extends Map<String, ?>> messages, List<? extends Map<String, ?>> tools) {
        return tokenizer.renderChat(messages, true, tools);
    }

    /** Token ids of a conversation: the template already holds BOS, so the tokenizer adds nothing. */
    public int[] chatIds(List<? extends Map<String, ?>> messages, List<? extends Map<String, ?>> tools) {
        return tokenizer.encode(renderChat(messages, tools), false);
    }

    /** Generates from token ids, all with the same options. */
    public List<Completion> generate(List<int[]> prompts, Sampling options, TextListener listener) {
        return generate(prompts, java.util.Collections.nCopies(prompts.size(), options), listener);
    }

    /**
     * Generates from token ids with per-sequence limits and stop strings; the sampling part of all options must be
     * the same ({@link Sampling#sampling()}), because one engine batch samples alike.
     */
    public List<Completion> generate(List<int[]> prompts, List<Sampling> options, TextListener listener) {
        return generate(prompts, options, listener, sequence -> false);
    }

    /**
     * As {@link #generate(List, List, TextListener)}, and a sequence for which {@code cancelled} turns true stops at
     * its next token (finish reason "abort"): nobody waits for its text any more.
     */
    public List<Completion> generate(
            List<int[]> prompts, List<Sampling> options, TextListener listener, IntPredicate cancelled) {
        return generateSequences(SequenceSpec.plain(prompts), options, listener, cancelled);
    }

    /**
     * As {@link #generate(List, List, TextListener, IntPredicate)}, each sequence with its own adapter and scale over
     * the one loaded base, and its own sampler stream (see {@link SequenceSpec}).
     */
    public List<Completion> generateSequences(
            List<SequenceSpec> sequences, List<Sampling> options, TextListener listener, IntPredicate cancelled) {
        if (sequences.size() != options.size()) {
            throw new IllegalArgumentException(sequences.size() + " prompts but " + options.size() + " options");
        }
        return sequences.isEmpty() ? List.of() : generateBatch(sequences, options, listener, cancelled);
    }

    /**
     * A prompt that joins a running batch ({@link #generateFeed}).
     *
     * @param options its own sampling, length and stop strings
     * @param index the number {@code listener} receives its text under
     * @param cancelled turns true when nobody waits for the text any more: the sequence stops at its next token
     * @param result completed the step the sequence ends, or exceptionally when its prompt is refused
     */
    public record Joining(
            SequenceSpec spec,
            Sampling options,
            int index,
            TextListener listener,
            BooleanSupplier cancelled,
            CompletableFuture<Completion> result) {}

    /** Where {@link #generateFeed} takes its prompts: called before every decode step with the free slots. */
    @FunctionalInterface
    public interface TextFeed {
        List<Joining> admit(int freeSlots);
    }

    /**
     * Continuous batching: prompts join the running batch between decode steps, each with its own sampling, and each
     * result completes the step its sequence ends. Returns when nothing runs and the feed admits nothing; when the
     * engine fails, every unfinished result fails with it.
     */
    public void generateFeed(TextFeed feed) {
        List<SequenceText> texts = new ArrayList<>();
        List<CompletableFuture<Completion>> results = new ArrayList<>();
        SequenceFeed engineFeed = new SequenceFeed() {
            @Override
            public List<SequenceFeed.Joining> admit(int freeSlots) {
                List<SequenceFeed.Joining> admitted = new ArrayList<>();
                for (TextGenerator.Joining joining : feed.admit(freeSlots)) {
                    int[] prompt = joining.spec().prompt();
                    try {
                        checkPrompt(prompt, "prompt " + joining.index());
                    } catch (RuntimeException e) {
                        joining.result().completeExceptionally(e);
                        continue;
                    }
                    texts.add(new SequenceText(
                            joining.index(),
                            prompt,
                            joining.options(),
                            joining.listener(),
                            sequence -> joining.cancelled().getAsBoolean()));
                    results.add(joining.result());
                    admitted.add(new SequenceFeed.Joining(joining.spec(), joining.options()));
                }
                return admitted;
            }

            @Override
            public void finished(int index, GenerationResult result) {
                SequenceText text = texts.set(index, null);
                results.get(index).complete(text.finish(result.tokenIds(), result.finishReason()));
            }
        };
        try {
            tokens.generateFeed(
                    engineFeed, (sequence, tokenId) -> texts.get(sequence).accept(tokenId));
        } catch (RuntimeException e) {
            results.forEach(result -> result.completeExceptionally(e));
            throw e;
        }
    }

    private void checkPrompt(int[] prompt, String what) {
        if (prompt.length == 0) {
            throw new BadInputException(what + " has no tokens");
        }
        // callers that take a requested length check it against the window; a prompt alone must always fit
        checkFits(prompt, 0, what);
        for (int id : prompt) {
            if (id < 0 || id >= tokenizer.vocabSize()) {
                throw new BadInputException(
                        what + ": token id " + id + " is outside the vocabulary [0, " + tokenizer.vocabSize() + ")");
            }
        }
    }

    private List<Completion> generateBatch(
            List<SequenceSpec> specs, List<Sampling> options, TextListener listener, IntPredicate cancelled) {
        List<int[]> prompts = specs.stream().map(SequenceSpec::prompt).toList();
        Sampling sampling = options.getFirst().batchKey();
        int maxNewTokens = 0;
        for (int i = 0; i < prompts.size(); i++) {
            if (!options.get(i).batchKey().equals(sampling)) {
                throw new IllegalArgumentException("one batch needs one sampling setting");
            }
            checkPrompt(prompts.get(i), "prompt " + i);
            maxNewTokens = Math.max(maxNewTokens, options.get(i).maxNewTokens());
        }
        List<SequenceText> sequences = new ArrayList<>();
        for (int i = 0; i < prompts.size(); i++) {
            sequences.add(new SequenceText(i, prompts.get(i), options.get(i), listener, cancelled));
        }
        if (maxNewTokens == 0) {
            return sequences.stream().map(s -> s.finish(new int[0], "length")).toList();
        }
        List<TokenGenerator.TokenOutput> outputs = tokens.generateSequences(
                specs,
                options.getFirst().withMaxNewTokens(maxNewTokens),
                (sequence, tokenId) -> sequences.get(sequence).accept(tokenId));
        List<Completion> completions = new ArrayList<>();
        for (int i = 0; i < outputs.size(); i++) {
            TokenGenerator.TokenOutput output = outputs.get(i);
            completions.add(sequences.get(i).finish(output.tokenIds(), output.finishReason()));
        }
        return completions;
    }

    /** The text state of one sequence: decoded text, what was emitted, and whether a stop string or limit hit. */
    private final class SequenceText {
        private final int index;
        private final Sampling options;
        private final TextListener listener;
        private final IntPredicate cancelled;
        private final StreamingDecoder decoder;
        private final int holdBack;
        private final int promptTokens;
        private final StringBuilder text = new StringBuilder();
        private int emitted;
        private int generated;
        private String endedBy;

        SequenceText(int index, int[] prompt, Sampling options, TextListener listener, IntPredicate cancelled) {
            this.index = index;
            this.options = options;
            this.listener = listener;
            this.cancelled = cancelled;
            this.decoder = new StreamingDecoder(tokenizer, prompt, true);
            this.promptTokens = prompt.length;
            this.holdBack =
                    options.stop().stream().mapToInt(String::length).max().orElse(1) - 1;
        }

        boolean accept(int tokenId) {
            if (endedBy != null) {
                return false;
            }
            if (cancelled.test(index)) {
                endedBy = "abort";
                return false;
            }
            generated++;
            if (!options.ignoreEos() && tokenizer.eosTokenIds().contains(tokenId)) {
                return true;
            }
            append(decoder.add(tokenId));
            if (endedBy == null && generated >= options.maxNewTokens()) {
                endedBy = "length";
            }
            return endedBy == null;
        }

        private void append(String delta) {
            if (delta.isEmpty()) {
                return;
            }
            int searchFrom = Math.max(0, text.length() - holdBack);
            text.append(delta);
            int cut = firstStop(searchFrom);
            if (cut >= 0) {
                text.setLength(cut);
                endedBy = "stop";
                emit(text.length());
            } else {
                emit(text.length() - holdBack);
            }
        }

        private int firstStop(int from) {
            int first = -1;
            for (String stop : options.stop()) {
                int at = text.indexOf(stop, from);
                if (at >= 0 && (first < 0 || at < first)) {
                    first = at;
                }
            }
            return first;
        }

        private void emit(int upTo) {
            if (upTo > emitted) {
                listener.onText(index, text.substring(emitted, upTo));
                emitted = upTo;
            }
        }

        Completion finish(int[] tokenIds, String engineReason) {
            if (!"stop".equals(endedBy)) {
                // tokens held back as incomplete characters are final now; they print as U+FFFD, as in HF
                append(decoder.flush());
            }
            emit(text.length());
            String reason = endedBy != null ? endedBy : engineReason.equals("length") ? "length" : "stop";
            int[] ids = tokenIds.length > generated ? Arrays.copyOf(tokenIds, generated) : tokenIds;
            return new Completion(text.toString(), ids, reason, promptTokens);
        }
    }
}
