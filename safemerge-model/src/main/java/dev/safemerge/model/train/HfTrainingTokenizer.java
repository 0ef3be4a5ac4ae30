package dev.safemerge.model.train;

import dev.safemerge.model.text.ChatMessage;
import dev.safemerge.model.text.ChatTemplate;
import dev.safemerge.model.text.HfTokenizer;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;

/** A model's HF tokenizer and chat template as the training data loader needs them. */
public final class HfTrainingTokenizer implements TrainingTokenizer {
    private final HfTokenizer tokenizer;
    private final Optional<ChatTemplate> template;
    private final OptionalInt bos;
    private final OptionalInt eos;

    public HfTrainingTokenizer(HfTokenizer tokenizer) {
        this.tokenizer = tokenizer;
        this.template = tokenizer.chatTemplate();
        // BOS is whatever the tokenizer's post-processor puts in front of a text (Llama, Gemma), nothing for Qwen2.
        int[] with = tokenizer.encode("a", true);
        int[] without = tokenizer.encode("a", false);
        boolean prepends = with.length > without.length
                && Arrays.equals(Arrays.copyOfRange(with, with.length - without.length, with.length), without);
        this.bos = prepends ? OptionalInt.of(with[0]) : OptionalInt.empty();
        OptionalInt eosId = OptionalInt.empty();
        if (tokenizer.eosToken().isPresent()) {
            eosId = tokenizer.addedTokenId(tokenizer.eosToken().get());
        }
        this.eos = eosId;
    }

    @Override
    public int[] encode(String text) {
        return tokenizer.encode(text, false);
    }

    @Override
    public OptionalInt bosId() {
        return bos;
    }

    @Override
    public OptionalInt eosId() {
        return eos;
    }

    @Override
    public boolean hasChatTemplate() {
        return template.isPresent();
    }

    @Override
    public String renderChat(List<ChatMessage> messages, boolean addGenerationPrompt) {
        // A template that raises (roles that do not alternate) throws ChatTemplateException, a BadInputException.
        return template.orElseThrow().render(messages, addGenerationPrompt, tokenizer.templateVariables());
    }
}
