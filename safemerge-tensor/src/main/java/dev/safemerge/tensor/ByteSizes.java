package dev.safemerge.tensor;

import java.math.BigDecimal;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Sizes written the way Hugging Face tools accept them for {@code max_shard_size}: "5GB" and "500MB" are decimal
 * (10^9, 10^6), "2GiB" is binary (2^30), "1B" or a bare number is bytes. Units are case-insensitive.
 */
public final class ByteSizes {
    private static final Pattern SIZE = Pattern.compile("\\s*([0-9]+(?:\\.[0-9]+)?)\\s*([A-Za-z]*)\\s*");

    private ByteSizes() {}

    /** Parses a positive size; a bad one is a {@link BadInputException} quoting it. */
    public static long parse(String text) {
        Matcher matcher = SIZE.matcher(text == null ? "" : text);
        if (!matcher.matches()) {
            throw new BadInputException("size '" + text + "' is not a number with an optional unit (e.g. 5GB, 2GiB)");
        }
        long multiplier = switch (matcher.group(2).toUpperCase(Locale.ROOT)) {
            case "", "B" -> 1L;
            case "KB" -> 1_000L;
            case "MB" -> 1_000_000L;
            case "GB" -> 1_000_000_000L;
            case "TB" -> 1_000_000_000_000L;
            case "KIB" -> 1L << 10;
            case "MIB" -> 1L << 20;
            case "GIB" -> 1L << 30;
            case "TIB" -> 1L << 40;
            default ->
                throw new BadInputException("size '" + text + "' has unknown unit '" + matcher.group(2)
                        + "' (use B, KB, MB, GB, TB, KiB, MiB, GiB or TiB)");
        };
        BigDecimal bytes = new BigDecimal(matcher.group(1)).multiply(BigDecimal.valueOf(multiplier));
        if (bytes.signum() <= 0 || bytes.compareTo(BigDecimal.valueOf(Long.MAX_VALUE)) > 0) {
            throw new BadInputException("size '" + text + "' must be at least 1 byte and below 8 EiB");
        }
        // Fractions of a byte round down, as int(value * multiplier) does in the Hugging Face helpers.
        long whole = bytes.longValue();
        if (whole < 1) {
            throw new BadInputException("size '" + text + "' is less than one byte");
        }
        return whole;
    }

    /** A short human-readable form: "1.50 GB", "512 B". */
    public static String format(long bytes) {
        if (bytes < 1000) {
            return bytes + " B";
        }
        String[] units = {"kB", "MB", "GB", "TB", "PB"};
        double value = bytes;
        int unit = -1;
        while (value >= 1000 && unit < units.length - 1) {
            value /= 1000;
            unit++;
        }
        return String.format(Locale.ROOT, "%.2f %s", value, units[unit]);
    }
}
