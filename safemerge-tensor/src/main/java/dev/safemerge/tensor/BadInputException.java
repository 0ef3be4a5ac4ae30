package dev.safemerge.tensor;

/**
 * Input the user gave us is wrong: a malformed file, a missing tensor, an unknown key. The message is one line
 * that names the file, tensor, key or line, and the command line turns it into exit code 2.
 */
public class BadInputException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public BadInputException(String message) {
        super(message);
    }

    public BadInputException(String message, Throwable cause) {
        super(message, cause);
    }
}
