package dev.safemerge.eval.data;

import dev.safemerge.tensor.BadInputException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** RFC 4180 CSV: comma separated, fields in double quotes may hold commas, newlines and doubled quotes. */
public final class Csv {
    /** One record and the line it starts on. */
    public record Line(int number, List<String> fields) {}

    private Csv() {}

    public static List<Line> parse(Path file, String text) {
        List<Line> lines = new ArrayList<>();
        List<String> fields = new ArrayList<>();
        StringBuilder field = new StringBuilder();
        int lineNumber = 1;
        int recordStart = 1;
        boolean quoted = false;
        boolean fieldWasQuoted = false;
        int i = 0;
        while (i < text.length()) {
            char c = text.charAt(i);
            if (quoted) {
                if (c == '"') {
                    if (i + 1 < text.length() && text.charAt(i + 1) == '"') {
                        field.append('"');
                        i += 2;
                        continue;
                    }
                    quoted = false;
                } else {
                    if (c == '\n') {
                        lineNumber++;
                    }
                    field.append(c);
                }
                i++;
                continue;
            }
            switch (c) {
                case '"' -> {
                    if (!field.isEmpty()) {
                        throw new BadInputException(file + ":" + lineNumber + ": quote inside an unquoted field");
                    }
                    quoted = true;
                    fieldWasQuoted = true;
                }
                case ',' -> {
                    fields.add(field.toString());
                    field.setLength(0);
                    fieldWasQuoted = false;
                }
                case '\r' -> {
                    if (i + 1 >= text.length() || text.charAt(i + 1) != '\n') {
                        field.append(c);
                    }
                }
                case '\n' -> {
                    fields.add(field.toString());
                    if (!(fields.size() == 1 && fields.getFirst().isEmpty() && !fieldWasQuoted)) {
                        lines.add(new Line(recordStart, List.copyOf(fields)));
                    }
                    fields.clear();
                    field.setLength(0);
                    fieldWasQuoted = false;
                    lineNumber++;
                    recordStart = lineNumber;
                }
                default -> {
                    if (fieldWasQuoted) {
                        throw new BadInputException(file + ":" + lineNumber + ": text after a closing quote");
                    }
                    field.append(c);
                }
            }
            i++;
        }
        if (quoted) {
            throw new BadInputException(file + ":" + recordStart + ": quoted field never closed");
        }
        if (!field.isEmpty() || !fields.isEmpty() || fieldWasQuoted) {
            fields.add(field.toString());
            lines.add(new Line(recordStart, List.copyOf(fields)));
        }
        return lines;
    }
}
