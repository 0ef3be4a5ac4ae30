package dev.safemerge.model.text;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/** One turn of a conversation: {@code system}, {@code user}, {@code assistant} (or {@code tool}) and its text. */
public record ChatMessage(String role, String content) {
    public ChatMessage {
        Objects.requireNonNull(role, "role");
        Objects.requireNonNull(content, "content");
    }

    public static ChatMessage system(String content) {
        return new ChatMessage("system", content);
    }

    public static ChatMessage user(String content) {
        return new ChatMessage("user", content);
    }

    public static ChatMessage assistant(String content) {
        return new ChatMessage("assistant", content);
    }

    /** The message as the map chat templates index ({@code message['role']}, {@code message.content}). */
    public Map<String, Object> asMap() {
        Map<String, Object> map = new LinkedHashMap<>();
        map.put("role", role);
        map.put("content", content);
        return map;
    }
}
