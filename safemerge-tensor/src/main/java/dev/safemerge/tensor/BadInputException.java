package dev.safemerge.tensor;

/**
 * Input the user gave us is wrong: a malformed file, a missing tensor, an unknown key. The message is one line
 * that names the file, tensor, key or line, and the command line turns it into exit code 2.
 */
public class BadInputException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public BadInputException(String message) {
        super(oneLine(message));
    }

    public BadInputException(String message, Throwable cause) {
        super(oneLine(message), cause);
    }

    /** The first line of a parser's message (JSON errors quote the offending input on later lines). */
    static String firstLine(String message) {
        if (message == null) {
            return "";
        }
        int newline = message.indexOf('\n');
        return newline < 0 ? message : message.substring(0, newline);
    }

    /** Escapes line breaks and other control characters, which hostile names could otherwise smuggle in. */
    private static String oneLine(String message) {
        if (message == null) {
            return "";
        }
        StringBuilder out = new StringBuilder(message.length());
        for (int i = 0; i < message.length(); i++) {
            char c = message.charAt(i);
            if (c < 0x20 || c == 0x7f || c == '\u2028' || c == '\u2029') {
                out.append(String.format(java.util.Locale.ROOT, "\\u%04x", (int) c));
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }
}
