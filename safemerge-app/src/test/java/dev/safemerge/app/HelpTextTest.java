package dev.safemerge.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Field;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;

/** Every command's {@code --help} must read as written: picocli must not break example lines or show field names. */
class HelpTextTest {
    /** Tests run in the module's folder. */
    private static final Path REPOSITORY = Path.of("..");

    private static final Pattern PLACEHOLDER = Pattern.compile("[A-Z][A-Z0-9_]*(\\.[a-z]+)?");
    private static final Pattern DATA_FILE = Pattern.compile("[\\w./+-]+\\.(yml|yaml|jsonl|json|csv)");

    @Test
    void indentedFooterLinesFitTheUsageWidth() {
        List<String> tooWide = new ArrayList<>();
        for (CommandSpec command : allCommands()) {
            int width = command.usageMessage().width();
            for (String line : command.usageMessage().footer()) {
                // Picocli wraps a footer line longer than the width without keeping its indent, which breaks
                // example command lines mid-argument; unindented prose may wrap.
                if (isIndented(line) && line.length() > width) {
                    tooWide.add(command.qualifiedName() + ": " + line.length() + " > " + width + ": " + line);
                }
            }
        }
        assertThat(tooWide).isEmpty();
    }

    @Test
    void everyWrittenTextIsAFormatStringPicocliCanRender() {
        // Picocli renders descriptions and footers with String.format: a bare '%' ("95% intervals") makes it warn on
        // stderr and print the text unformatted, so a percent sign must be written '%%'.
        List<String> unformattable = new ArrayList<>();
        List<String> rendered = new ArrayList<>();
        for (CommandSpec command : allCommands()) {
            for (String text : writtenTexts(command)) {
                try {
                    rendered.add(String.format(text));
                } catch (java.util.IllegalFormatException e) {
                    unformattable.add(command.qualifiedName() + ": " + e.getMessage() + ": " + text);
                }
            }
        }
        assertThat(unformattable).isEmpty();
        assertThat(rendered).isNotEmpty();
    }

    @Test
    void everyParameterLabelIsChosenNotTheFieldName() {
        List<String> fieldNameLabels = new ArrayList<>();
        for (CommandSpec command : allCommands()) {
            for (ArgSpec arg : command.args()) {
                if (arg.arity().max() > 0 && isPicocliDefaultLabel(arg)) {
                    fieldNameLabels.add(command.qualifiedName() + " " + describe(arg) + ": " + arg.paramLabel());
                }
            }
        }
        assertThat(fieldNameLabels).isEmpty();
    }

    @Test
    void everyDescriptionAndFooterParagraphEndsASentence() {
        List<String> brokenParagraphs = new ArrayList<>();
        for (CommandSpec command : allCommands()) {
            for (String paragraph : writtenTexts(command)) {
                // A paragraph cut mid-sentence into the next array element is printed as a ragged line break;
                // indented footer lines are examples, not prose.
                if (!paragraph.isEmpty()
                        && !isIndented(paragraph)
                        && ".:!?".indexOf(paragraph.charAt(paragraph.length() - 1)) < 0) {
                    brokenParagraphs.add(command.qualifiedName() + ": " + paragraph);
                }
            }
        }
        assertThat(brokenParagraphs).isEmpty();
    }

    @Test
    void noLineBreakSplitsADottedWord() {
        List<String> splitWords = new ArrayList<>();
        for (CommandSpec command : allCommands()) {
            String written = String.join("\n", writtenTexts(command));
            List<String> lines = command.commandLine()
                    .getUsageMessage(CommandLine.Help.Ansi.OFF)
                    .lines()
                    .toList();
            for (int i = 0; i + 1 < lines.size(); i++) {
                String lastWord = lastWord(lines.get(i));
                String nextWord = firstWord(lines.get(i + 1));
                // Java's line BreakIterator allows a break after a dot, so picocli may print "OUT." and "checkpoint"
                // on two lines when the written text has OUT.checkpoint.
                if (lastWord.matches(".*\\w\\.") && !nextWord.isEmpty() && written.contains(lastWord + nextWord)) {
                    splitWords.add(command.qualifiedName() + ": " + lastWord + " | " + nextWord);
                }
            }
        }
        assertThat(splitWords).isEmpty();
    }

    /** One name for one thing, defaults that differ stated where they apply, no notes about other commands. */
    @Test
    void helpStatesDifferingDefaultsAndOnlyWhatAppliesToTheCommand() {
        String safety = MainTest.run("eval", "safety", "--help").out();
        String task = MainTest.run("eval", "task", "--help").out();
        String chat = MainTest.run("chat", "--help").out();
        String generate = MainTest.run("generate", "--help").out();
        assertThat(safety).doesNotContain("bbh").contains("--system").contains("Defaults differ from chat");
        assertThat(task).contains("bbh answers get 1024 new tokens").contains("Defaults differ from chat");
        assertThat(chat).contains("--system").contains("Defaults differ from eval's");
        assertThat(generate).contains("Defaults differ from eval's");
        assertThat(chat).doesNotContain("--system-prompt");
        assertThat(MainTest.run("safeguard", "--help").out())
                .as("safeguard takes the system prompt under eval's and chat's name")
                .contains("--system, --system-prompt");
    }

    /**
     * A note written for one command must not leak into another's help: every {@code --option} a help text names is
     * an option of that command (or, for a command with subcommands, of one of them; an option's value such as
     * {@code --finetune-option=--full} is not a mention), except the deliberate mentions of another command's options
     * listed here, each written with that command's name beside it ("eval's --protocol study", "'registry alias set
     * --override'"); and the task metrics' own settings (bbh, humaneval, pass@k, tool-call) appear only in the help
     * of commands that run task metrics.
     */
    @Test
    void everyHelpNamesOnlyItsOwnOptionsAndTaskNotesOnlyWhereTasksRun() {
        Map<String, Set<String>> otherCommandsOptions = Map.of(
                "safemerge chat", Set.of("--protocol"),
                "safemerge generate", Set.of("--protocol"),
                "safemerge registry rollback", Set.of("--override"),
                // vLLM's own server flag, for --endpoint
                "safemerge safeguard", Set.of("--enable-lora"),
                // 'gate --prompt-version', 'registry add --branch'
                "safemerge registry", Set.of("--prompt-version"),
                "safemerge registry prompt", Set.of("--prompt-version"),
                "safemerge registry prompt add", Set.of("--prompt-version"),
                "safemerge registry branch", Set.of("--branch", "--prompt-version"),
                "safemerge registry branch promote", Set.of("--prompt-version"));
        Pattern optionMention = Pattern.compile("(?<![\\w=-])--[a-z][a-z0-9-]*");
        Pattern taskNote = Pattern.compile("\\b(bbh|humaneval|pass@k|tool-call)\\b", Pattern.CASE_INSENSITIVE);
        List<String> leaks = new ArrayList<>();
        for (CommandSpec command : allCommands()) {
            String help = command.commandLine().getUsageMessage(CommandLine.Help.Ansi.OFF);
            // An example line runs the command it names (a workflow may show the next command); the rest is ours.
            CommandSpec speaker = command;
            for (String line : help.lines().toList()) {
                String stripped = line.strip();
                if (stripped.startsWith("safemerge ")) {
                    speaker = commandNamedIn(stripped);
                } else if (!isIndented(line)) {
                    speaker = command;
                }
                Matcher mention = optionMention.matcher(line);
                while (mention.find()) {
                    String option = mention.group();
                    if (!hasOption(speaker, option)
                            && !otherCommandsOptions
                                    .getOrDefault(speaker.qualifiedName(), Set.of())
                                    .contains(option)) {
                        leaks.add(command.qualifiedName() + " names " + option + ", which " + speaker.qualifiedName()
                                + " does not have");
                    }
                }
            }
            Matcher note = taskNote.matcher(help);
            if (note.find() && !runsTaskMetrics(command)) {
                leaks.add(command.qualifiedName() + " mentions the task metric note '" + note.group() + "'");
            }
        }
        assertThat(leaks).isEmpty();
    }

    /** The (sub)command an example line {@code safemerge a b ...} runs: the longest path of subcommand names. */
    private static CommandSpec commandNamedIn(String exampleLine) {
        CommandLine current = Main.commandLine();
        for (String word : exampleLine.split("\\s+")) {
            if (word.equals("safemerge")) {
                continue;
            }
            CommandLine next = current.getSubcommands().get(word);
            if (next == null) {
                break;
            }
            current = next;
        }
        return current.getCommandSpec();
    }

    private static boolean hasOption(CommandSpec command, String option) {
        return command.findOption(option) != null
                || command.subcommands().values().stream().anyMatch(sub -> hasOption(sub.getCommandSpec(), option));
    }

    /** Commands that evaluate task metrics: those with --metric, or with task suites to run. */
    private static boolean runsTaskMetrics(CommandSpec command) {
        return command.findOption("--metric") != null
                || command.findOption("--suite") != null
                || command.findOption("--task") != null;
    }

    /**
     * An example runs as printed from the repository's folder: every input path it names ships with safemerge, or
     * is a placeholder in capitals (MODEL_DIR, RESPONSES.jsonl) for the user's own model or file.
     */
    @Test
    void examplesNameFilesThatExistOrArePlaceholders() {
        List<String> named = new ArrayList<>();
        List<String> missing = new ArrayList<>();
        for (CommandSpec command : allCommands()) {
            for (String path : examplePaths(command)) {
                named.add(path);
                if (!PLACEHOLDER.matcher(path).matches() && !Files.exists(REPOSITORY.resolve(path))) {
                    missing.add(command.qualifiedName() + ": " + path);
                }
            }
        }
        assertThat(named).contains("examples/linear-0.5.yml", "data/safety/harmful.jsonl", "MODEL_DIR", "ADAPTER_DIR");
        assertThat(missing).isEmpty();
    }

    @Test
    void theWalkReachesNestedSubcommands() {
        assertThat(allCommands())
                .extracting(CommandSpec::qualifiedName)
                .contains("safemerge", "safemerge inspect", "safemerge eval safety", "safemerge eval task");
    }

    /**
     * Input paths in the indented example lines of the footer: values of options labelled DIR or FILE (the part after
     * '=' in NAME=DIR), and any word with a data file's extension or under examples/ or data/; outputs (--out,
     * --junit) are left out, and so are indented lines before the "Example" heading (lists of files a command writes).
     */
    private static List<String> examplePaths(CommandSpec command) {
        List<String> paths = new ArrayList<>();
        boolean inExamples = false;
        for (String line : command.usageMessage().footer()) {
            inExamples |= line.startsWith("Example");
            if (!inExamples || !isIndented(line)) {
                continue;
            }
            String[] words = line.strip().split("\\s+");
            for (int i = 0; i < words.length; i++) {
                String previous = i == 0 ? "" : words[i - 1];
                if (previous.equals("--out") || previous.equals("--junit")) {
                    continue;
                }
                CommandLine.Model.OptionSpec option = previous.startsWith("--") ? command.findOption(previous) : null;
                String word = words[i].replaceAll(":$", "");
                if (option != null && option.paramLabel().matches(".*\\b(DIR|FILE)$")) {
                    paths.add(word.substring(word.indexOf('=') + 1));
                } else if (DATA_FILE.matcher(word).matches()
                        || word.startsWith("examples/")
                        || word.startsWith("data/")) {
                    paths.add(word);
                }
            }
        }
        return paths;
    }

    private static List<String> writtenTexts(CommandSpec command) {
        List<String> texts = new ArrayList<>(List.of(command.usageMessage().description()));
        texts.addAll(List.of(command.usageMessage().footer()));
        for (ArgSpec arg : command.args()) {
            texts.addAll(List.of(arg.description()));
        }
        return texts;
    }

    private static String lastWord(String line) {
        String stripped = line.strip();
        return stripped.substring(stripped.lastIndexOf(' ') + 1);
    }

    private static String firstWord(String line) {
        String stripped = line.strip();
        int space = stripped.indexOf(' ');
        return space < 0 ? stripped : stripped.substring(0, space);
    }

    private static boolean isIndented(String line) {
        return !line.isEmpty() && Character.isWhitespace(line.charAt(0));
    }

    /** Without a paramLabel picocli shows the annotated field's name in angle brackets. */
    private static boolean isPicocliDefaultLabel(ArgSpec arg) {
        return arg.userObject() instanceof Field field && arg.paramLabel().equals("<" + field.getName() + ">");
    }

    private static String describe(ArgSpec arg) {
        return arg instanceof CommandLine.Model.OptionSpec option ? option.longestName() : "positional parameter";
    }

    private static List<CommandSpec> allCommands() {
        List<CommandSpec> commands = new ArrayList<>();
        collect(Main.commandLine(), commands);
        return commands;
    }

    private static void collect(CommandLine commandLine, List<CommandSpec> commands) {
        commands.add(commandLine.getCommandSpec());
        for (CommandLine subcommand : commandLine.getSubcommands().values()) {
            collect(subcommand, commands);
        }
    }
}
