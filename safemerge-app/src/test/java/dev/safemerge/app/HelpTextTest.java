package dev.safemerge.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;

/** Every command's {@code --help} must read as written: picocli must not break example lines or show field names. */
class HelpTextTest {

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
    }

    @Test
    void theWalkReachesNestedSubcommands() {
        assertThat(allCommands())
                .extracting(CommandSpec::qualifiedName)
                .contains("safemerge", "safemerge inspect", "safemerge eval safety", "safemerge eval task");
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
