package dev.safemerge.eval.judge;

/** Python's {@code str.strip()}: Java's strip() misses a few code points Python treats as whitespace. */
final class PythonStrings {
    private PythonStrings() {}

    static boolean isPythonSpace(char c) {
        return Character.isWhitespace(c)
                || c == '\u0085'
                || c == '\u00A0'
                || c == '\u2007'
                || c == '\u202F'
                || c == '\u001C'
                || c == '\u001D'
                || c == '\u001E'
                || c == '\u001F';
    }

    static String strip(String s) {
        int start = 0;
        int end = s.length();
        while (start < end && isPythonSpace(s.charAt(start))) {
            start++;
        }
        while (end > start && isPythonSpace(s.charAt(end - 1))) {
            end--;
        }
        return s.substring(start, end);
    }
}
