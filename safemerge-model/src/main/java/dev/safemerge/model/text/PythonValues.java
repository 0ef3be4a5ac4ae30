package dev.safemerge.model.text;

import dev.safemerge.tensor.JsonStrings;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Python's view of template values: {@code json.dumps} (what Hugging Face installs as the {@code tojson} filter),
 * {@code str()}/{@code repr()} of dicts and lists, and the {@code str} methods templates call. Chat templates are
 * written against Python jinja2, so rendering them byte-for-byte needs Python's spelling of every value.
 */
final class PythonValues {
    private PythonValues() {}

    /** {@code json.dumps(value, ensure_ascii=False, indent=indent, separators=..., sort_keys=sortKeys)}. */
    static String jsonDumps(Object value, Integer indent, String itemSeparator, String keySeparator, boolean sortKeys) {
        String items = itemSeparator != null ? itemSeparator : (indent == null ? ", " : ",");
        String keys = keySeparator != null ? keySeparator : ": ";
        StringBuilder out = new StringBuilder();
        appendJson(out, value, indent, items, keys, sortKeys, 0);
        return out.toString();
    }

    private static void appendJson(
            StringBuilder out, Object value, Integer indent, String items, String keys, boolean sortKeys, int depth) {
        if (value == null) {
            out.append("null");
        } else if (value instanceof Boolean b) {
            out.append(b ? "true" : "false");
        } else if (value instanceof Number n) {
            out.append(jsonNumber(n));
        } else if (value instanceof CharSequence s) {
            JsonStrings.appendQuoted(out, s.toString());
        } else if (value instanceof Map<?, ?> map) {
            if (map.isEmpty()) {
                out.append("{}");
                return;
            }
            Map<?, ?> ordered = sortKeys ? new TreeMap<>(stringKeys(map)) : map;
            out.append('{');
            boolean first = true;
            for (Map.Entry<?, ?> entry : ordered.entrySet()) {
                if (!first) {
                    out.append(items);
                }
                first = false;
                newline(out, indent, depth + 1);
                JsonStrings.appendQuoted(out, String.valueOf(entry.getKey()));
                out.append(keys);
                appendJson(out, entry.getValue(), indent, items, keys, sortKeys, depth + 1);
            }
            newline(out, indent, depth);
            out.append('}');
        } else if (value instanceof Iterable<?> || value instanceof Object[]) {
            List<?> list = asList(value);
            if (list.isEmpty()) {
                out.append("[]");
                return;
            }
            out.append('[');
            boolean first = true;
            for (Object element : list) {
                if (!first) {
                    out.append(items);
                }
                first = false;
                newline(out, indent, depth + 1);
                appendJson(out, element, indent, items, keys, sortKeys, depth + 1);
            }
            newline(out, indent, depth);
            out.append(']');
        } else {
            JsonStrings.appendQuoted(out, value.toString());
        }
    }

    private static Map<String, Object> stringKeys(Map<?, ?> map) {
        Map<String, Object> result = new java.util.LinkedHashMap<>();
        map.forEach((k, v) -> result.put(String.valueOf(k), v));
        return result;
    }

    private static void newline(StringBuilder out, Integer indent, int depth) {
        if (indent != null) {
            out.append('\n').append(" ".repeat(indent * depth));
        }
    }

    static List<?> asList(Object value) {
        if (value instanceof List<?> list) {
            return list;
        }
        if (value instanceof Object[] array) {
            return List.of(array);
        }
        List<Object> list = new ArrayList<>();
        Iterator<?> it = ((Iterable<?>) value).iterator();
        while (it.hasNext()) {
            list.add(it.next());
        }
        return list;
    }

    private static String jsonNumber(Number n) {
        if (n instanceof Double || n instanceof Float) {
            return pythonFloat(n.doubleValue());
        }
        return n.toString();
    }

    /** Python's {@code repr(float)}: shortest round-trip digits, {@code 21.0}, {@code 1e-05}, {@code 1e+16}. */
    static String pythonFloat(double d) {
        if (Double.isNaN(d)) {
            return "NaN";
        }
        if (Double.isInfinite(d)) {
            return d > 0 ? "Infinity" : "-Infinity";
        }
        String java = Double.toString(d);
        int e = java.indexOf('E');
        if (e < 0) {
            return java;
        }
        String mantissa = java.substring(0, e);
        int exponent = Integer.parseInt(java.substring(e + 1));
        if (exponent >= -4 && exponent < 16) {
            return new java.math.BigDecimal(java).toPlainString() + (java.contains(".0E") ? ".0" : "");
        }
        if (mantissa.endsWith(".0")) {
            mantissa = mantissa.substring(0, mantissa.length() - 2);
        }
        return mantissa + "e" + (exponent < 0 ? "-" : "+") + (Math.abs(exponent) < 10 ? "0" : "") + Math.abs(exponent);
    }

    /** Python's {@code str(value)}: strings as they are, containers as {@code repr}. */
    static String str(Object value) {
        if (value instanceof CharSequence s) {
            return s.toString();
        }
        return repr(value);
    }

    /** Python's {@code repr(value)} for the values JSON can hold. */
    static String repr(Object value) {
        StringBuilder out = new StringBuilder();
        appendRepr(out, value);
        return out.toString();
    }

    private static void appendRepr(StringBuilder out, Object value) {
        if (value == null) {
            out.append("None");
        } else if (value instanceof Boolean b) {
            out.append(b ? "True" : "False");
        } else if (value instanceof Double || value instanceof Float) {
            double d = ((Number) value).doubleValue();
            out.append(Double.isNaN(d) ? "nan" : Double.isInfinite(d) ? (d > 0 ? "inf" : "-inf") : pythonFloat(d));
        } else if (value instanceof Number n) {
            out.append(n);
        } else if (value instanceof CharSequence s) {
            appendStringRepr(out, s.toString());
        } else if (value instanceof Map<?, ?> map) {
            out.append('{');
            boolean first = true;
            for (Map.Entry<?, ?> entry : map.entrySet()) {
                if (!first) {
                    out.append(", ");
                }
                first = false;
                appendRepr(out, entry.getKey());
                out.append(": ");
                appendRepr(out, entry.getValue());
            }
            out.append('}');
        } else if (value instanceof Iterable<?> || value instanceof Object[]) {
            out.append('[');
            boolean first = true;
            for (Object element : asList(value)) {
                if (!first) {
                    out.append(", ");
                }
                first = false;
                appendRepr(out, element);
            }
            out.append(']');
        } else {
            out.append(value);
        }
    }

    private static void appendStringRepr(StringBuilder out, String s) {
        char quote = s.indexOf('\'') >= 0 && s.indexOf('"') < 0 ? '"' : '\'';
        out.append(quote);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == quote || c == '\\') {
                out.append('\\').append(c);
            } else if (c == '\n') {
                out.append("\\n");
            } else if (c == '\r') {
                out.append("\\r");
            } else if (c == '\t') {
                out.append("\\t");
            } else if (c < 0x20 || c == 0x7f) {
                out.append(String.format("\\x%02x", (int) c));
            } else {
                out.append(c);
            }
        }
        out.append(quote);
    }

    /** Python's {@code str.isspace()} for one character. */
    static boolean isSpace(int c) {
        return Character.isWhitespace(c) || Character.isSpaceChar(c) || (c >= 0x1c && c <= 0x1f) || c == 0x85;
    }

    static String strip(String s, String chars, boolean left, boolean right) {
        int start = 0;
        int end = s.length();
        while (left && start < end && stripped(s.charAt(start), chars)) {
            start++;
        }
        while (right && end > start && stripped(s.charAt(end - 1), chars)) {
            end--;
        }
        return s.substring(start, end);
    }

    private static boolean stripped(char c, String chars) {
        return chars == null ? isSpace(c) : chars.indexOf(c) >= 0;
    }

    /** Python's {@code str.split(sep, maxsplit)}; {@code sep == null} splits on runs of whitespace. */
    static List<String> split(String s, String sep, int maxSplit) {
        List<String> parts = new ArrayList<>();
        if (sep == null) {
            int i = 0;
            int n = s.length();
            while (true) {
                while (i < n && isSpace(s.charAt(i))) {
                    i++;
                }
                if (i >= n) {
                    break;
                }
                if (maxSplit >= 0 && parts.size() == maxSplit) {
                    parts.add(strip(s.substring(i), null, false, true));
                    break;
                }
                int j = i;
                while (j < n && !isSpace(s.charAt(j))) {
                    j++;
                }
                parts.add(s.substring(i, j));
                i = j;
            }
            return parts;
        }
        if (sep.isEmpty()) {
            throw new IllegalArgumentException("empty separator");
        }
        int from = 0;
        while (maxSplit < 0 || parts.size() < maxSplit) {
            int at = s.indexOf(sep, from);
            if (at < 0) {
                break;
            }
            parts.add(s.substring(from, at));
            from = at + sep.length();
        }
        parts.add(s.substring(from));
        return parts;
    }

    /** Python's {@code str.title()}: a letter after a non-letter is upper-cased, every other letter lower-cased. */
    static String title(String s) {
        StringBuilder out = new StringBuilder(s.length());
        boolean previousCased = false;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            out.append(previousCased ? Character.toLowerCase(c) : Character.toTitleCase(c));
            previousCased = Character.isLetter(c);
        }
        return out.toString();
    }

    static String capitalize(String s) {
        if (s.isEmpty()) {
            return s;
        }
        return Character.toTitleCase(s.charAt(0)) + s.substring(1).toLowerCase(java.util.Locale.ROOT);
    }

    static String replace(String s, String old, String replacement, int count) {
        if (count < 0) {
            return s.replace(old, replacement);
        }
        StringBuilder out = new StringBuilder();
        int from = 0;
        for (int done = 0; done < count; done++) {
            int at = s.indexOf(old, from);
            if (at < 0) {
                break;
            }
            out.append(s, from, at).append(replacement);
            from = at + old.length();
            if (old.isEmpty()) {
                if (from < s.length()) {
                    out.append(s.charAt(from));
                }
                from++;
            }
        }
        if (from <= s.length()) {
            out.append(s.substring(Math.min(from, s.length())));
        }
        return out.toString();
    }
}
