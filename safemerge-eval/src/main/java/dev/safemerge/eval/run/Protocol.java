package dev.safemerge.eval.run;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.safemerge.eval.gen.GenerationRequest;
import dev.safemerge.eval.gen.SamplingParams;
import dev.safemerge.model.text.ChatMessage;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * How prompts are put to the model: the chat template (applied by the backend), an optional system prompt, and the
 * decoding settings. The study's default is {@link #STUDY_SYSTEM_PROMPT} (none for Gemma, whose template has no
 * system role) with {@link SamplingParams#STUDY}.
 */
public record Protocol(String systemPrompt, SamplingParams sampling) {
    public static final String STUDY_SYSTEM_PROMPT = "You are a helpful assistant.";

    /** The study's choice for a model: no system turn for Gemma models, the one-liner for all others. */
    public static String defaultSystemPrompt(String modelName) {
        return modelName != null && modelName.toLowerCase(Locale.ROOT).contains("gemma") ? null : STUDY_SYSTEM_PROMPT;
    }

    public GenerationRequest request(String userPrompt) {
        List<ChatMessage> messages = new ArrayList<>();
        if (systemPrompt != null) {
            messages.add(ChatMessage.system(systemPrompt));
        }
        messages.add(ChatMessage.user(userPrompt));
        return new GenerationRequest.Chat(messages);
    }

    public ObjectNode toJson() {
        ObjectNode node = sampling.toJson();
        node.put("chat_template", "the model's own, applied by the backend");
        if (systemPrompt == null) {
            node.putNull("system_prompt");
        } else {
            node.put("system_prompt", systemPrompt);
        }
        return node;
    }
}
