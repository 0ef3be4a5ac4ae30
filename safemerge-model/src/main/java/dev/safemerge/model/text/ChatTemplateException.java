package dev.safemerge.model.text;

import dev.safemerge.tensor.BadInputException;

/** A chat template refused the conversation ({@code raise_exception}) or could not be rendered. */
public final class ChatTemplateException extends BadInputException {
    private static final long serialVersionUID = 1L;

    public ChatTemplateException(String message) {
        super(message);
    }

    public ChatTemplateException(String message, Throwable cause) {
        super(message, cause);
    }
}
