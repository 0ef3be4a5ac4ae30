package dev.safemerge.eval.gen;

import dev.safemerge.model.text.ChatMessage;
import java.util.List;

/**
 * What to generate from: either a conversation that the backend renders with the model's chat template, or a raw
 * prompt that is used exactly as given (judges, few-shot completions).
 */
public sealed interface GenerationRequest {
    record Chat(List<ChatMessage> messages) implements GenerationRequest {
        public Chat {
            messages = List.copyOf(messages);
            if (messages.isEmpty()) {
                throw new IllegalArgumentException("a chat request needs at least one message");
            }
        }
    }

    record Raw(String prompt) implements GenerationRequest {}
}
