package dev.safemerge.eval.data;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.safemerge.eval.Json;
import dev.safemerge.tensor.BadInputException;
import dev.safemerge.tensor.Utf8Text;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.zip.GZIPInputStream;

/** Reads data files as a list of JSON objects: JSONL (optionally gzipped), a JSON array, or CSV with a header. */
public final class Records {
    /** One record and where it came from, for error messages. */
    public record Row(Path file, int line, JsonNode node) {
        public String where() {
            return file + ":" + line;
        }

        /** The text of a field, or a one-line error naming the file, line and field. */
        public String text(String field) {
            JsonNode value = node.get(field);
            if (value == null || value.isNull()) {
                throw new BadInputException(where() + ": missing field '" + field + "'");
            }
            return value.isTextual() ? value.asText() : value.toString();
        }

        /** The text of a field that must be a JSON string (prompts, responses), never a number or object. */
        public String string(String field) {
            JsonNode value = node.get(field);
            if (value == null || value.isNull()) {
                throw new BadInputException(where() + ": missing field '" + field + "'");
            }
            if (!value.isTextual()) {
                throw new BadInputException(where() + ": field '" + field + "' must be a string, got "
                        + value.getNodeType().toString().toLowerCase(Locale.ROOT));
            }
            return value.asText();
        }

        public String textOr(String field, String fallback) {
            JsonNode value = node.get(field);
            return value == null || value.isNull() ? fallback : value.isTextual() ? value.asText() : value.toString();
        }
    }

    private Records() {}

    public static String readText(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            byte[] bytes = in.readAllBytes();
            if (file.getFileName().toString().endsWith(".gz")) {
                try (InputStream gz = new GZIPInputStream(new ByteArrayInputStream(bytes))) {
                    bytes = gz.readAllBytes();
                }
            }
            return Utf8Text.decode(file, bytes);
        } catch (NoSuchFileException e) {
            throw new BadInputException(file + ": no such file");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
    }

    /**
     * Reads by extension: .jsonl/.jsonl.gz, .json (an array of objects, or JSON Lines saved under .json, as BFCL
     * publishes its files), .csv (header row).
     */
    public static List<Row> read(Path file) {
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".csv")) {
            return csvWithHeader(file);
        }
        String text = readText(file);
        if (name.endsWith(".json")) {
            return text.stripLeading().startsWith("{") ? jsonLines(file, text) : jsonArray(file, text);
        }
        if (name.endsWith(".jsonl") || name.endsWith(".jsonl.gz") || name.endsWith(".ndjson")) {
            return jsonLines(file, text);
        }
        throw new BadInputException(file + ": unknown data format (expected .jsonl, .jsonl.gz, .json or .csv)");
    }

    public static List<Row> jsonLines(Path file, String text) {
        List<Row> rows = new ArrayList<>();
        String[] lines = text.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i].strip();
            if (line.isEmpty()) {
                continue;
            }
            JsonNode node;
            try {
                node = Json.MAPPER.readTree(line);
            } catch (JsonProcessingException e) {
                throw new BadInputException(file + ":" + (i + 1) + ": not valid JSON");
            }
            if (!node.isObject()) {
                throw new BadInputException(file + ":" + (i + 1) + ": expected a JSON object");
            }
            rows.add(new Row(file, i + 1, node));
        }
        return rows;
    }

    public static JsonNode parseJson(Path file, String text) {
        try {
            return Json.MAPPER.readTree(text);
        } catch (JsonProcessingException e) {
            throw new BadInputException(file + ":" + e.getLocation().getLineNr() + ": not valid JSON");
        }
    }

    private static List<Row> jsonArray(Path file, String text) {
        JsonNode root = parseJson(file, text);
        if (!root.isArray()) {
            throw new BadInputException(file + ": expected a JSON array of objects");
        }
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < root.size(); i++) {
            if (!root.get(i).isObject()) {
                throw new BadInputException(file + ": element " + i + " is not a JSON object");
            }
            rows.add(new Row(file, i + 1, root.get(i)));
        }
        return rows;
    }

    /** CSV whose first row names the columns; each later row becomes an object (line = the row's first line). */
    public static List<Row> csvWithHeader(Path file) {
        List<Csv.Line> lines = Csv.parse(file, readText(file));
        if (lines.isEmpty()) {
            throw new BadInputException(file + ": empty CSV file");
        }
        List<String> header = lines.getFirst().fields();
        List<Row> rows = new ArrayList<>();
        for (Csv.Line line : lines.subList(1, lines.size())) {
            if (line.fields().size() != header.size()) {
                throw new BadInputException(file + ":" + line.number() + ": "
                        + line.fields().size() + " fields where the header has " + header.size());
            }
            ObjectNode node = Json.object();
            for (int c = 0; c < header.size(); c++) {
                node.put(header.get(c).strip(), line.fields().get(c));
            }
            rows.add(new Row(file, line.number(), node));
        }
        return rows;
    }
}
