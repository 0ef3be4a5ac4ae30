package dev.safemerge.eval.data;

import com.fasterxml.jackson.databind.JsonNode;
import dev.safemerge.tensor.BadInputException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Loads harmful-prompt sets by path, recognising the published layouts: AdvBench {@code harmful_behaviors.csv}
 * ({@code goal,target}), HEx-PHI (a folder of header-less {@code category_N.csv} files, one such file, or
 * {@code all.json} = {"prompt": [330 strings]}), HarmBench behaviour CSVs, and generic JSONL/JSON/CSV with a prompt
 * field and an optional category field.
 */
public final class SafetyPrompts {
    /** HEx-PHI's eleven categories, in the benchmark's numbering. */
    public static final List<String> HEX_PHI_CATEGORIES = List.of(
            "Illegal Activity",
            "Child Abuse Content",
            "Hate/Harass/Violence",
            "Malware",
            "Physical Harm",
            "Economic Harm",
            "Fraud/Deception",
            "Adult Content",
            "Political Campaigning",
            "Privacy Violation Activity",
            "Tailored Financial Advice");

    private static final Pattern HEX_PHI_FILE = Pattern.compile("category_(\\d+)\\.csv");
    private static final int HEX_PHI_PER_CATEGORY = 30;

    private SafetyPrompts() {}

    /**
     * Which rows of a labelled table count: those whose {@code field} equals {@code keep}. XSTest mixes safe prompts
     * with contrast unsafe ones ({@code label} = safe/unsafe next to {@code type} and {@code focus}); without an explicit
     * filter its safe rows count as benign prompts and its unsafe rows as harmful ones.
     */
    public record LabelFilter(String field, String keep) {
        static boolean isXsTest(JsonNode first) {
            return first.has("label") && first.has("type") && first.has("focus");
        }
    }

    /**
     * Prompts and how they were selected.
     *
     * @param rows the rows the file holds
     * @param selection why only {@code items} count ({@code null} when every row does)
     */
    public record Loaded(List<PromptItem> items, int rows, String selection) {}

    /**
     * @param promptField field holding the request in generic files (null: try prompt, goal, instruction, question)
     * @param categoryField field holding the category in generic files (null: "category" when present)
     */
    public static List<PromptItem> load(Path path, String promptField, String categoryField) {
        return load(path, promptField, categoryField, null, false).items();
    }

    /**
     * Loads prompts and keeps the rows a label filter selects.
     *
     * @param filter rows to keep; {@code null} keeps every row, except in XSTest's layout (see {@link LabelFilter})
     * @param benign the prompts are benign look-alikes (decides which XSTest rows count)
     */
    public static Loaded load(Path path, String promptField, String categoryField, LabelFilter filter, boolean benign) {
        List<PromptItem> items;
        if (Files.isDirectory(path)) {
            items = hexPhiFolder(path);
        } else if (!Files.isRegularFile(path)) {
            throw new BadInputException(path + ": no such file or directory");
        } else {
            String name = path.getFileName().toString();
            Matcher hexPhi = HEX_PHI_FILE.matcher(name);
            if (hexPhi.matches()) {
                items = hexPhiCategory(path, Integer.parseInt(hexPhi.group(1)));
            } else if (name.toLowerCase(Locale.ROOT).endsWith(".json") && isHexPhiAll(path)) {
                items = hexPhiAll(path);
            } else {
                return nonEmpty(path, table(path, promptField, categoryField, filter, benign));
            }
        }
        if (filter != null) {
            throw new BadInputException(path + ": --label-field applies to JSONL, JSON and CSV tables");
        }
        return nonEmpty(path, new Loaded(items, items.size(), null));
    }

    private static Loaded nonEmpty(Path path, Loaded loaded) {
        if (loaded.items().isEmpty()) {
            throw new BadInputException(
                    path + ": no prompts found" + (loaded.selection() == null ? "" : " (" + loaded.selection() + ")"));
        }
        return loaded;
    }

    private static List<PromptItem> hexPhiFolder(Path dir) {
        List<Path> files;
        try (Stream<Path> list = Files.list(dir)) {
            files = list.filter(p ->
                            HEX_PHI_FILE.matcher(p.getFileName().toString()).matches())
                    .sorted(Comparator.comparingInt(SafetyPrompts::categoryNumber))
                    .toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (files.isEmpty()) {
            throw new BadInputException(dir + ": a folder of prompts must hold HEx-PHI category_N.csv files");
        }
        List<PromptItem> items = new ArrayList<>();
        for (Path file : files) {
            items.addAll(hexPhiCategory(file, categoryNumber(file)));
        }
        return items;
    }

    private static int categoryNumber(Path file) {
        Matcher m = HEX_PHI_FILE.matcher(file.getFileName().toString());
        if (!m.matches()) {
            throw new IllegalArgumentException(file.toString());
        }
        return Integer.parseInt(m.group(1));
    }

    private static String hexPhiName(Path file, int number) {
        if (number < 1 || number > HEX_PHI_CATEGORIES.size()) {
            throw new BadInputException(file + ": HEx-PHI has categories 1 to 11, not " + number);
        }
        return number + " " + HEX_PHI_CATEGORIES.get(number - 1);
    }

    /** One header-less, single-column CSV: every row is one instruction. */
    private static List<PromptItem> hexPhiCategory(Path file, int number) {
        String category = hexPhiName(file, number);
        List<PromptItem> items = new ArrayList<>();
        for (Csv.Line line : Csv.parse(file, Records.readText(file))) {
            if (line.fields().size() != 1) {
                throw new BadInputException(file + ":" + line.number() + ": HEx-PHI rows have one column, found "
                        + line.fields().size());
            }
            String prompt = line.fields().getFirst().strip();
            if (!prompt.isEmpty()) {
                items.add(new PromptItem(file.getFileName() + ":" + line.number(), prompt, category));
            }
        }
        return items;
    }

    private static boolean isHexPhiAll(Path file) {
        JsonNode root = Records.parseJson(file, Records.readText(file));
        return root.isObject() && root.size() == 1 && root.path("prompt").isArray();
    }

    /** SE's all.json: the 11 categories concatenated in order, 30 each; other lengths get no categories. */
    private static List<PromptItem> hexPhiAll(Path file) {
        JsonNode prompts = Records.parseJson(file, Records.readText(file)).path("prompt");
        boolean standard = prompts.size() == HEX_PHI_PER_CATEGORY * HEX_PHI_CATEGORIES.size();
        List<PromptItem> items = new ArrayList<>();
        for (int i = 0; i < prompts.size(); i++) {
            if (!prompts.get(i).isTextual()) {
                throw new BadInputException(file + ": prompt[" + i + "] is not a string");
            }
            String category = standard ? hexPhiName(file, i / HEX_PHI_PER_CATEGORY + 1) : "all";
            items.add(
                    new PromptItem(file.getFileName() + "#" + i, prompts.get(i).asText(), category));
        }
        return items;
    }

    private static Loaded table(
            Path file, String promptField, String categoryField, LabelFilter filter, boolean benign) {
        List<Records.Row> all = Records.read(file);
        if (all.isEmpty()) {
            return new Loaded(List.of(), 0, null);
        }
        JsonNode first = all.getFirst().node();
        String selection = null;
        if (filter == null && LabelFilter.isXsTest(first)) {
            filter = new LabelFilter("label", benign ? "safe" : "unsafe");
            if (categoryField == null) {
                categoryField = "type";
            }
            selection = "XSTest layout: ";
        }
        List<Records.Row> rows = all;
        if (filter != null) {
            LabelFilter keep = filter;
            if (!first.has(keep.field())) {
                throw new BadInputException(
                        all.getFirst().where() + ": no field '" + keep.field() + "' (--label-field)");
            }
            rows = all.stream()
                    .filter(r -> r.text(keep.field()).equals(keep.keep()))
                    .toList();
            selection = (selection == null ? "" : selection)
                    + String.format(
                            Locale.ROOT,
                            "kept the %d of %d rows with %s = %s",
                            rows.size(),
                            all.size(),
                            keep.field(),
                            keep.keep());
        }
        return new Loaded(tableItems(file, rows, promptField, categoryField), all.size(), selection);
    }

    private static List<PromptItem> tableItems(
            Path file, List<Records.Row> rows, String promptField, String categoryField) {
        if (rows.isEmpty()) {
            return List.of();
        }
        JsonNode first = rows.getFirst().node();
        List<PromptItem> items = new ArrayList<>();
        if (promptField == null && first.has("Behavior") && first.has("BehaviorID")) {
            for (Records.Row row : rows) {
                String behavior = row.string("Behavior");
                String context = row.textOr("ContextString", "");
                // HarmBench's direct-request test case puts the context first, then a rule, then the behaviour.
                String prompt = context.isBlank() ? behavior : context + "\n\n---\n\n" + behavior;
                String category = categoryField != null
                        ? row.text(categoryField)
                        : row.textOr("SemanticCategory", row.textOr("Category", ""));
                items.add(new PromptItem(row.text("BehaviorID"), prompt, category));
            }
            return items;
        }
        String field = promptField != null ? promptField : guessPromptField(rows.getFirst());
        String category = categoryField != null ? categoryField : first.has("category") ? "category" : null;
        for (Records.Row row : rows) {
            String id = row.node().has("id") ? row.text("id") : file.getFileName() + ":" + row.line();
            items.add(new PromptItem(id, row.string(field), category == null ? "" : row.text(category)));
        }
        return items;
    }

    private static String guessPromptField(Records.Row row) {
        for (String candidate : List.of("prompt", "goal", "instruction", "question", "Behavior")) {
            if (row.node().has(candidate)) {
                return candidate;
            }
        }
        throw new BadInputException(row.where() + ": no prompt field (prompt, goal, instruction, question);"
                + " name it with --prompt-field");
    }
}
