package dev.safemerge.model.text;

import java.beans.FeatureDescriptor;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import jinjava.javax.el.ELContext;
import jinjava.javax.el.ELResolver;

/**
 * Resolves the Python {@code str} and {@code dict} methods chat templates call ({@code content.strip()},
 * {@code x.startswith('<tool_response>')}, {@code tool.items()}, ...) before Jinjava's bean resolver would look for
 * a Java method of that name. Anything else is left to the next resolver.
 */
final class PythonStringResolver extends ELResolver {
    @Override
    public Object invoke(ELContext context, Object base, Object method, Class<?>[] paramTypes, Object[] params) {
        if (method == null) {
            return null;
        }
        Object[] args = params == null ? new Object[0] : params;
        Object result;
        if (base instanceof CharSequence text) {
            result = stringMethod(text.toString(), method.toString(), args);
        } else if (base instanceof Map<?, ?> map) {
            result = mapMethod(map, method.toString(), args);
        } else {
            return null;
        }
        if (result == NOT_HANDLED) {
            return null;
        }
        context.setPropertyResolved(true);
        return result;
    }

    private static final Object NOT_HANDLED = new Object();

    private static Object stringMethod(String s, String name, Object[] args) {
        return switch (name) {
            case "strip" -> PythonValues.strip(s, optionalString(args, 0), true, true);
            case "lstrip" -> PythonValues.strip(s, optionalString(args, 0), true, false);
            case "rstrip" -> PythonValues.strip(s, optionalString(args, 0), false, true);
            case "startswith" -> matchesAny(args, s::startsWith);
            case "endswith" -> matchesAny(args, s::endsWith);
            case "split" -> PythonValues.split(s, optionalString(args, 0), optionalInt(args, 1, -1));
            case "upper" -> s.toUpperCase(Locale.ROOT);
            case "lower" -> s.toLowerCase(Locale.ROOT);
            case "title" -> PythonValues.title(s);
            case "capitalize" -> PythonValues.capitalize(s);
            case "replace" ->
                PythonValues.replace(s, String.valueOf(args[0]), String.valueOf(args[1]), optionalInt(args, 2, -1));
            case "find" -> s.indexOf(String.valueOf(args[0]));
            case "count" -> countOccurrences(s, String.valueOf(args[0]));
            case "join" -> join(s, args[0]);
            default -> NOT_HANDLED;
        };
    }

    private static Object mapMethod(Map<?, ?> map, String name, Object[] args) {
        return switch (name) {
            case "items" -> {
                List<Map.Entry<?, ?>> items = new ArrayList<>();
                for (Map.Entry<?, ?> entry : map.entrySet()) {
                    items.add(Map.entry(entry.getKey(), nullSafe(entry.getValue())));
                }
                yield items;
            }
            case "keys" -> new ArrayList<>(map.keySet());
            case "values" -> new ArrayList<>(map.values());
            case "get" -> map.containsKey(args[0]) ? map.get(args[0]) : (args.length > 1 ? args[1] : null);
            default -> NOT_HANDLED;
        };
    }

    // Map.entry refuses null values; a JSON null becomes the empty string only for iteration of items().
    private static Object nullSafe(Object value) {
        return value == null ? "" : value;
    }

    private static String optionalString(Object[] args, int index) {
        return args.length > index && args[index] != null ? args[index].toString() : null;
    }

    private static int optionalInt(Object[] args, int index, int fallback) {
        return args.length > index && args[index] instanceof Number n ? n.intValue() : fallback;
    }

    private static boolean matchesAny(Object[] args, java.util.function.Predicate<String> test) {
        Object arg = args[0];
        if (arg instanceof Iterable<?> options) {
            for (Object option : options) {
                if (test.test(String.valueOf(option))) {
                    return true;
                }
            }
            return false;
        }
        return test.test(String.valueOf(arg));
    }

    private static int countOccurrences(String s, String sub) {
        if (sub.isEmpty()) {
            return s.length() + 1;
        }
        int count = 0;
        for (int at = s.indexOf(sub); at >= 0; at = s.indexOf(sub, at + sub.length())) {
            count++;
        }
        return count;
    }

    private static String join(String separator, Object iterable) {
        StringBuilder out = new StringBuilder();
        Iterator<?> it = PythonValues.asList(iterable).iterator();
        while (it.hasNext()) {
            out.append(PythonValues.str(it.next()));
            if (it.hasNext()) {
                out.append(separator);
            }
        }
        return out.toString();
    }

    @Override
    public Class<?> getCommonPropertyType(ELContext context, Object base) {
        return null;
    }

    @Override
    public Iterator<FeatureDescriptor> getFeatureDescriptors(ELContext context, Object base) {
        return null;
    }

    @Override
    public Class<?> getType(ELContext context, Object base, Object property) {
        return null;
    }

    @Override
    public Object getValue(ELContext context, Object base, Object property) {
        return null;
    }

    @Override
    public boolean isReadOnly(ELContext context, Object base, Object property) {
        return false;
    }

    @Override
    public void setValue(ELContext context, Object base, Object property, Object value) {}
}
