package dev.safemerge.tensor;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * Strict UTF-8 decoding of user files. Java's default decoding replaces invalid bytes with U+FFFD, which would
 * silently change prompts and training text; here invalid bytes are a one-line error naming the file and line.
 */
public final class Utf8Text {
    private Utf8Text() {}

    /** The text of {@code bytes} read from {@code file}, without a leading byte-order mark. */
    public static String decode(Path file, byte[] bytes) {
        CharsetDecoder decoder = StandardCharsets.UTF_8
                .newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        CharBuffer out = CharBuffer.allocate(bytes.length);
        CoderResult result = decoder.decode(in, out, true);
        if (result.isUnderflow()) {
            result = decoder.flush(out);
        }
        if (result.isError()) {
            throw new BadInputException(
                    file + ":" + lineAt(bytes, in.position()) + ": not valid UTF-8 (byte " + in.position() + ")");
        }
        if (!result.isUnderflow()) {
            // One byte never decodes to more than one char, so the output buffer cannot overflow.
            throw new IllegalStateException("UTF-8 decoding overflowed: " + result, new CharacterCodingException());
        }
        out.flip();
        String text = out.toString();
        return text.startsWith("\uFEFF") ? text.substring(1) : text;
    }

    /** The 1-based line holding byte {@code offset}. */
    private static int lineAt(byte[] bytes, int offset) {
        int line = 1;
        for (int i = 0; i < offset; i++) {
            if (bytes[i] == '\n') {
                line++;
            }
        }
        return line;
    }
}
