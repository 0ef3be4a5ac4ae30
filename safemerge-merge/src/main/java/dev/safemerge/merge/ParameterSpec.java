package dev.safemerge.merge;

/**
 * One parameter a merge method reads, declared as data so that configs are validated and documented from the same
 * declaration the method uses.
 *
 * @param scope {@link Scope#PER_MODEL} parameters are looked up per input model (model entry first), {@link
 *     Scope#GLOBAL} ones only at slice and top level
 * @param defaultValue used when no level sets the parameter; null with {@code required == false} means "absent"
 */
public record ParameterSpec(String name, Scope scope, Type type, Double defaultValue, boolean required) {
    public enum Scope {
        GLOBAL,
        PER_MODEL
    }

    public enum Type {
        NUMBER,
        INTEGER,
        BOOLEAN
    }

    public static ParameterSpec required(String name, Scope scope) {
        return new ParameterSpec(name, scope, Type.NUMBER, null, true);
    }

    public static ParameterSpec number(String name, Scope scope, double defaultValue) {
        return new ParameterSpec(name, scope, Type.NUMBER, defaultValue, false);
    }

    public static ParameterSpec integer(String name, Scope scope, int defaultValue) {
        return new ParameterSpec(name, scope, Type.INTEGER, (double) defaultValue, false);
    }

    public static ParameterSpec optional(String name, Scope scope) {
        return new ParameterSpec(name, scope, Type.NUMBER, null, false);
    }

    public static ParameterSpec flag(String name, boolean defaultValue) {
        return new ParameterSpec(name, Scope.GLOBAL, Type.BOOLEAN, defaultValue ? 1.0 : 0.0, false);
    }

    public String describe() {
        String value = required ? "required" : defaultValue == null ? "unset" : "default " + format(defaultValue);
        return name + " (" + type.name().toLowerCase(java.util.Locale.ROOT) + ", "
                + (scope == Scope.PER_MODEL ? "per-model" : "global") + ", " + value + ")";
    }

    private String format(double value) {
        if (type == Type.BOOLEAN) {
            return value != 0 ? "true" : "false";
        }
        return value == Math.rint(value) && Math.abs(value) < 1e15
                ? Long.toString((long) value)
                : Double.toString(value);
    }
}
