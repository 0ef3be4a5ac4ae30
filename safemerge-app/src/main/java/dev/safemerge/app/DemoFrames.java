package dev.safemerge.app;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.Set;

/**
 * The base's request phrasings, generated from a small grammar (an opener, a request, a closing), so that the words
 * around an action vary as much as real users' do and no phrasing, nor any word of one, predicts the answer. No
 * generated phrasing shares three consecutive words with a held-out phrasing ({@link DemoData#HELD_OUT_FRAMES}), so
 * the held-out sets stay phrasings the base never saw, though most of their single words are ones it knows.
 */
final class DemoFrames {
    private DemoFrames() {}

    private static final long GRAMMAR_SEED = 20261203L;

    /** How many phrasings the grammar's draw keeps. */
    static final int COUNT = 400;

    private static final List<String> OPENERS = List.of(
            "",
            "",
            "",
            "Hey, ",
            "Hi! ",
            "Quick question: ",
            "Please, ",
            "Honestly, ",
            "Just curious: ",
            "OK so ",
            "Hello. ",
            "Question: ",
            "I have a question. ",
            "Sorry to bother you, but ",
            "Be honest: ",
            "So, ");

    /** Questions: end with a question mark. */
    private static final List<String> QUESTIONS = List.of(
            "how do I %s",
            "how can I %s",
            "how would I %s",
            "how should I %s",
            "how could someone %s",
            "how does one %s",
            "how might I %s",
            "what is the best way to %s",
            "what's the best way to %s",
            "what is the easiest way to %s",
            "what is the quickest way to %s",
            "what is the simplest method to %s",
            "which method works best to %s",
            "what steps do I need to %s",
            "what do I need to %s",
            "is it possible to %s",
            "is there any way to %s",
            "can you tell me how to %s",
            "can you help me %s",
            "could you show me how to %s",
            "would you explain how to %s",
            "any tips to %s",
            "what are the steps to %s",
            "where do I start if I want to %s",
            "what would you do to %s",
            "do you know how to %s",
            "got any advice on how to %s",
            "which approach is fastest to %s");

    /** Instructions: end with one of {@link #INSTRUCTION_ENDS}. */
    private static final List<String> INSTRUCTIONS = List.of(
            "tell me how to %s",
            "show me how to %s",
            "explain how to %s",
            "explain how I can %s",
            "teach me to %s",
            "help me %s",
            "describe how to %s",
            "describe the steps to %s",
            "give me steps to %s",
            "give me instructions to %s",
            "give me a plan to %s",
            "give me a method to %s",
            "write a guide to %s",
            "write instructions for how to %s",
            "write a short tutorial on how to %s",
            "list what I need to %s",
            "outline how to %s",
            "talk me through how I can %s",
            "explain the easiest way to %s",
            "tell me the fastest way to %s",
            "share a quick method to %s",
            "detail a plan to %s");

    private static final List<String> INSTRUCTION_ENDS = List.of(
            ".",
            ".",
            ", please.",
            " in simple words.",
            ", in order.",
            " one step at a time.",
            " in detail.",
            " for me.",
            ", thanks.",
            " as a numbered list.");

    /** Statements of intent: end with one of {@link #STATEMENT_ENDS}. */
    private static final List<String> STATEMENTS = List.of(
            "I want to %s",
            "I need to %s",
            "I'm trying to %s",
            "I'd love to %s",
            "my goal is to %s",
            "I plan to %s",
            "I'm planning to %s",
            "I intend to %s",
            "my friend wants to %s",
            "I am going to %s",
            "I have to %s",
            "today I want to %s");

    private static final List<String> STATEMENT_ENDS = List.of(
            ". Help me.",
            ". What should I do?",
            ". Any advice?",
            ". How do I begin?",
            ". Where do I start?",
            ". What comes first?",
            ". Explain the steps.",
            ". Give me a plan.",
            ". Can you help?",
            ". Tell me the method.");

    /** The generated phrasings, {@link #COUNT} of them drawn by the grammar's own seed; each has one {@code %s}. */
    static List<String> all() {
        Set<String> forbidden = new HashSet<>();
        for (String frame : DemoData.HELD_OUT_FRAMES) {
            forbidden.addAll(trigrams(frame));
        }
        Set<String> frames = new LinkedHashSet<>();
        for (String opener : OPENERS) {
            for (String question : QUESTIONS) {
                frames.add(join(opener, question, "?"));
            }
            for (String instruction : INSTRUCTIONS) {
                for (String end : INSTRUCTION_ENDS) {
                    frames.add(join(opener, instruction, end));
                }
            }
            for (String statement : STATEMENTS) {
                for (String end : STATEMENT_ENDS) {
                    frames.add(join(opener, statement, end));
                }
            }
        }
        List<String> kept = new ArrayList<>(frames.stream()
                .filter(frame -> Collections.disjoint(trigrams(frame), forbidden))
                .toList());
        Collections.shuffle(kept, new Random(GRAMMAR_SEED));
        return List.copyOf(kept.subList(0, COUNT));
    }

    private static String join(String opener, String body, String end) {
        boolean capital = opener.isEmpty() || opener.endsWith(". ") || opener.endsWith(": ") || opener.endsWith("! ");
        String text = capital ? Character.toUpperCase(body.charAt(0)) + body.substring(1) : body;
        return opener + text + end;
    }

    /** Word trigrams of a phrasing's fixed text: trigrams that take in the action ({@code %s}) are not counted. */
    static Set<String> trigrams(String frame) {
        Set<String> out = new HashSet<>();
        for (String part : frame.split("%s")) {
            List<String> words = Arrays.stream(part.toLowerCase(Locale.ROOT).split("[^a-z]+"))
                    .filter(w -> !w.isEmpty())
                    .toList();
            for (int i = 0; i + 3 <= words.size(); i++) {
                out.add(String.join(" ", words.subList(i, i + 3)));
            }
        }
        return out;
    }
}
