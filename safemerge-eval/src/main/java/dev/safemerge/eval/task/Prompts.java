package dev.safemerge.eval.task;

import dev.safemerge.eval.gen.GenerationRequest;
import dev.safemerge.model.text.ChatMessage;
import java.util.ArrayList;
import java.util.List;

/** Builds chat requests under the protocol: an optional system turn, then the user turn. */
final class Prompts {
    private Prompts() {}

    static GenerationRequest chat(String systemPrompt, String user) {
        List<ChatMessage> messages = new ArrayList<>();
        if (systemPrompt != null) {
            messages.add(ChatMessage.system(systemPrompt));
        }
        messages.add(ChatMessage.user(user));
        return new GenerationRequest.Chat(messages);
    }

    /**
     * The study's way of adding a task instruction: appended to the system turn after {@code separator}, or, for
     * models without a system turn, put before the user text followed by a newline.
     */
    static GenerationRequest chatWithInstruction(
            String systemPrompt, String instruction, String separator, String user) {
        if (systemPrompt == null) {
            return chat(null, instruction + "\n" + user);
        }
        return chat(systemPrompt + separator + instruction, user);
    }
}
