package dev.safemerge.merge;

/**
 * One parameter a merge method reads, declared as data so that configs are validated and documented from the same
 * declaration the method uses.
 *
 * @param scope {@link Scope#PER_MODEL} parameters are looked up per input model (model entry first), {@link
 *     Scope#GLOBAL} ones only at slice and top level
 * @param defaultValue used when no level sets the parameter; null with {@code required == false} means "absent"
 * @param min smallest value a config may set (inclusive); numbers are always finite
 * @param max largest value a config may set (inclusive)
 */
public record ParameterSpec(
        String name, Scope scope, Type type, Double defaultValue, boolean required, double min, double max) {
    public enum Scope {
        GLOBAL,
        PER_MODEL
    }

    public enum Type {
        NUMBER,
        INTEGER,
        BOOLEAN
    }

    private static final double ANY = Double.MAX_VALUE;

    public static ParameterSpec required(String name, Scope scope) {
        return new ParameterSpec(name, scope, Type.NUMBER, null, true, -ANY, ANY);
    }

    public static ParameterSpec number(String name, Scope scope, double defaultValue) {
        return new ParameterSpec(name, scope, Type.NUMBER, defaultValue, false, -ANY, ANY);
    }

    public static ParameterSpec integer(String name, Scope scope, int defaultValue) {
        return new ParameterSpec(name, scope, Type.INTEGER, (double) defaultValue, false, -ANY, ANY);
    }

    public static ParameterSpec optional(String name, Scope scope) {
        return new ParameterSpec(name, scope, Type.NUMBER, null, false, -ANY, ANY);
    }

    public static ParameterSpec flag(String name, boolean defaultValue) {
        return new ParameterSpec(name, Scope.GLOBAL, Type.BOOLEAN, defaultValue ? 1.0 : 0.0, false, 0, 1);
    }

    /** This parameter restricted to {@code [min, max]}. */
    public ParameterSpec within(double min, double max) {
        return new ParameterSpec(name, scope, type, defaultValue, required, min, max);
    }

    /** Why {@code value} cannot be set for this parameter, or null when it can. */
    public String rangeProblem(double value) {
        if (!Double.isFinite(value)) {
            return name + " must be a finite number";
        }
        if (value < min || value > max) {
            return name + " must be "
                    + (max == ANY ? ">= " + format(min) : "in [" + format(min) + ", " + format(max) + "]");
        }
        return null;
    }

    public String describe() {
        String value = required ? "required" : defaultValue == null ? "unset" : "default " + format(defaultValue);
        String range = type == Type.BOOLEAN || (min == -ANY && max == ANY)
                ? ""
                : max == ANY ? ", >= " + format(min) : ", in [" + format(min) + ", " + format(max) + "]";
        return name + " (" + type.name().toLowerCase(java.util.Locale.ROOT) + ", "
                + (scope == Scope.PER_MODEL ? "per-model" : "global") + ", " + value + range + ")";
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
