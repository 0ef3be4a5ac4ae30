package dev.safemerge.eval.task;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A function call written in Python syntax, {@code dotted.name(key=value, ...)}, with literal arguments only: strings
 * (single, double or triple quotes, with the usual escapes), ints, floats, True/False/None, lists, tuples (kept as
 * lists, as BFCL does) and dicts. Positional arguments are kept under their index ("0", "1", …). Anything else is a
 * parse error: model text is data and is never evaluated.
 */
public record PythonCall(String name, Map<String, Object> arguments) {
    /** A text that is not a single literal-argument call. */
    public static final class ParseException extends Exception {
        private static final long serialVersionUID = 1L;

        ParseException(String message) {
            super(message);
        }
    }

    /** Parses a text that is exactly one call, once code fences, backticks and surrounding brackets are stripped. */
    public static PythonCall parse(String text) throws ParseException {
        Parser parser = new Parser(unwrap(text));
        PythonCall call = parser.call();
        parser.skip();
        if (!parser.atEnd()) {
            throw new ParseException("text after the call at offset " + parser.i);
        }
        return call;
    }

    /**
     * Parses a list of calls, {@code [f(a=1), g(b=2)]} (brackets optional, as BFCL adds them when missing); an empty
     * text or {@code []} is no call.
     */
    public static List<PythonCall> parseCalls(String text) throws ParseException {
        Parser parser = new Parser(unwrap(text));
        List<PythonCall> calls = new ArrayList<>();
        parser.skip();
        while (!parser.atEnd()) {
            if (!calls.isEmpty()) {
                parser.expect(',');
                parser.skip();
            }
            calls.add(parser.call());
            parser.skip();
        }
        return calls;
    }

    /** The text without surrounding space, code fences, backticks and one pair of brackets. */
    private static String unwrap(String text) {
        String s = text.strip();
        s = s.replaceAll("(?s)^```[a-zA-Z]*\\s*", "")
                .replaceAll("(?s)\\s*```.*$", "")
                .strip();
        while (s.startsWith("`") && s.endsWith("`") && s.length() > 1) {
            s = s.substring(1, s.length() - 1).strip();
        }
        if (s.startsWith("[") && s.endsWith("]")) {
            s = s.substring(1, s.length() - 1).strip();
        }
        return s;
    }

    private static final class Parser {
        private final String s;
        private int i;

        Parser(String s) {
            this.s = s;
        }

        PythonCall call() throws ParseException {
            skip();
            int start = i;
            while (i < s.length()
                    && (Character.isLetterOrDigit(s.charAt(i)) || s.charAt(i) == '_' || s.charAt(i) == '.')) {
                i++;
            }
            String name = s.substring(start, i);
            if (name.isEmpty() || !Character.isJavaIdentifierStart(name.charAt(0)) || name.endsWith(".")) {
                throw new ParseException("no function name at the start");
            }
            skip();
            expect('(');
            Map<String, Object> args = new LinkedHashMap<>();
            int positional = 0;
            skip();
            while (peek() != ')') {
                int save = i;
                String key = identifier();
                skip();
                if (key != null && peek() == '=' && !s.startsWith("==", i)) {
                    i++;
                    if (args.containsKey(key)) {
                        throw new ParseException("argument " + key + " given twice");
                    }
                    args.put(key, value());
                } else {
                    i = save;
                    args.put(Integer.toString(positional++), value());
                }
                skip();
                if (peek() == ',') {
                    i++;
                    skip();
                } else if (peek() != ')') {
                    throw new ParseException("expected ',' or ')' at offset " + i);
                }
            }
            i++;
            return new PythonCall(name, args);
        }

        private String identifier() {
            int start = i;
            if (i < s.length() && (Character.isLetter(s.charAt(i)) || s.charAt(i) == '_')) {
                i++;
                while (i < s.length() && (Character.isLetterOrDigit(s.charAt(i)) || s.charAt(i) == '_')) {
                    i++;
                }
                return s.substring(start, i);
            }
            return null;
        }

        Object value() throws ParseException {
            skip();
            char c = peek();
            switch (c) {
                case '\'', '"' -> {
                    return string();
                }
                case '[' -> {
                    i++;
                    return sequence(']');
                }
                case '(' -> {
                    i++;
                    return sequence(')');
                }
                case '{' -> {
                    i++;
                    return dict();
                }
                default -> {
                    if (c == '-' || c == '+' || c == '.' || Character.isDigit(c)) {
                        return number();
                    }
                    String word = identifier();
                    if ("True".equals(word)) {
                        return Boolean.TRUE;
                    }
                    if ("False".equals(word)) {
                        return Boolean.FALSE;
                    }
                    if ("None".equals(word)) {
                        return NONE;
                    }
                    throw new ParseException("not a literal at offset " + i);
                }
            }
        }

        List<Object> sequence(char close) throws ParseException {
            List<Object> items = new ArrayList<>();
            skip();
            while (peek() != close) {
                items.add(value());
                skip();
                if (peek() == ',') {
                    i++;
                    skip();
                } else if (peek() != close) {
                    throw new ParseException("expected ',' or '" + close + "' at offset " + i);
                }
            }
            i++;
            return items;
        }

        Map<String, Object> dict() throws ParseException {
            Map<String, Object> map = new LinkedHashMap<>();
            skip();
            while (peek() != '}') {
                Object key = value();
                skip();
                expect(':');
                map.put(String.valueOf(key), value());
                skip();
                if (peek() == ',') {
                    i++;
                    skip();
                } else if (peek() != '}') {
                    throw new ParseException("expected ',' or '}' at offset " + i);
                }
            }
            i++;
            return map;
        }

        Object number() throws ParseException {
            int start = i;
            if (peek() == '-' || peek() == '+') {
                i++;
            }
            while (i < s.length()
                    && (Character.isDigit(s.charAt(i))
                            || "._eE".indexOf(s.charAt(i)) >= 0
                            || (s.charAt(i) == '-' || s.charAt(i) == '+') && "eE".indexOf(s.charAt(i - 1)) >= 0)) {
                i++;
            }
            String text = s.substring(start, i).replace("_", "");
            try {
                if (text.contains(".") || text.contains("e") || text.contains("E")) {
                    return Double.parseDouble(text);
                }
                return Long.parseLong(text);
            } catch (NumberFormatException e) {
                throw new ParseException("bad number '" + text + "'");
            }
        }

        String string() throws ParseException {
            char quote = s.charAt(i);
            boolean triple = s.startsWith(String.valueOf(quote).repeat(3), i);
            i += triple ? 3 : 1;
            StringBuilder out = new StringBuilder();
            while (true) {
                if (i >= s.length()) {
                    throw new ParseException("unterminated string");
                }
                char c = s.charAt(i);
                if (c == quote && (!triple || s.startsWith(String.valueOf(quote).repeat(3), i))) {
                    i += triple ? 3 : 1;
                    return out.toString();
                }
                if (c == '\\' && i + 1 < s.length()) {
                    char e = s.charAt(i + 1);
                    out.append(
                            switch (e) {
                                case 'n' -> '\n';
                                case 't' -> '\t';
                                case 'r' -> '\r';
                                default -> e;
                            });
                    i += 2;
                    continue;
                }
                if (c == '\n' && !triple) {
                    throw new ParseException("newline in a string");
                }
                out.append(c);
                i++;
            }
        }

        private void expect(char c) throws ParseException {
            if (peek() != c) {
                throw new ParseException("expected '" + c + "' at offset " + i);
            }
            i++;
        }

        private char peek() throws ParseException {
            if (i >= s.length()) {
                throw new ParseException("unexpected end of the call");
            }
            return s.charAt(i);
        }

        boolean atEnd() {
            return i == s.length();
        }

        void skip() {
            while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
                i++;
            }
        }
    }

    /** Python's None. */
    public static final Object NONE = new Object() {
        @Override
        public String toString() {
            return "None";
        }
    };
}
