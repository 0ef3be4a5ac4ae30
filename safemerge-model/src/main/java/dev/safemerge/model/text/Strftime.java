package dev.safemerge.model.text;

import java.time.ZonedDateTime;
import java.time.format.TextStyle;
import java.util.Locale;

/** Python's {@code strftime} directives (C locale) over a {@link ZonedDateTime}. */
final class Strftime {
    private Strftime() {}

    static String format(ZonedDateTime t, String pattern) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < pattern.length(); i++) {
            char c = pattern.charAt(i);
            if (c != '%' || i + 1 == pattern.length()) {
                out.append(c);
                continue;
            }
            char d = pattern.charAt(++i);
            switch (d) {
                case 'd' -> out.append(String.format(Locale.ROOT, "%02d", t.getDayOfMonth()));
                case 'e' -> out.append(String.format(Locale.ROOT, "%2d", t.getDayOfMonth()));
                case 'm' -> out.append(String.format(Locale.ROOT, "%02d", t.getMonthValue()));
                case 'Y' -> out.append(t.getYear());
                case 'y' -> out.append(String.format(Locale.ROOT, "%02d", t.getYear() % 100));
                case 'H' -> out.append(String.format(Locale.ROOT, "%02d", t.getHour()));
                case 'I' -> out.append(String.format(Locale.ROOT, "%02d", (t.getHour() + 11) % 12 + 1));
                case 'M' -> out.append(String.format(Locale.ROOT, "%02d", t.getMinute()));
                case 'S' -> out.append(String.format(Locale.ROOT, "%02d", t.getSecond()));
                case 'p' -> out.append(t.getHour() < 12 ? "AM" : "PM");
                case 'j' -> out.append(String.format(Locale.ROOT, "%03d", t.getDayOfYear()));
                case 'b', 'h' -> out.append(t.getMonth().getDisplayName(TextStyle.SHORT, Locale.ENGLISH));
                case 'B' -> out.append(t.getMonth().getDisplayName(TextStyle.FULL, Locale.ENGLISH));
                case 'a' -> out.append(t.getDayOfWeek().getDisplayName(TextStyle.SHORT, Locale.ENGLISH));
                case 'A' -> out.append(t.getDayOfWeek().getDisplayName(TextStyle.FULL, Locale.ENGLISH));
                case 'w' -> out.append(t.getDayOfWeek().getValue() % 7);
                case '%' -> out.append('%');
                default -> out.append('%').append(d);
            }
        }
        return out.toString();
    }
}
