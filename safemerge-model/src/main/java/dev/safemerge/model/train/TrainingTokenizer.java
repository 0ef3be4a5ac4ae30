package dev.safemerge.model.train;

import dev.safemerge.model.text.ChatMessage;
import java.util.List;
import java.util.OptionalInt;

/** What turning training text into token ids needs from a model's tokenizer and chat template. */
public interface TrainingTokenizer {
    /** Token ids of {@code text}, with special-token strings recognised and no BOS/EOS added. */
    int[] encode(String text);

    OptionalInt bosId();

    OptionalInt eosId();

    /** True when the model has a chat template. */
    boolean hasChatTemplate();

    /** The chat template's rendering of {@code messages}. */
    String renderChat(List<ChatMessage> messages, boolean addGenerationPrompt);
}
