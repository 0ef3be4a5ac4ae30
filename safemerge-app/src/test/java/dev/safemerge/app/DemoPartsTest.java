package dev.safemerge.app;

import static org.assertj.core.api.Assertions.assertThat;

import dev.safemerge.eval.judge.RefusalJudge;
import dev.safemerge.model.text.ChatMessage;
import dev.safemerge.model.text.HfTokenizer;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DemoPartsTest {
    @Test
    void fineTuneDataHoldsOutDisjointListsAndNeverRefuses() {
        DemoData.FineTuneSets sets = DemoData.fineTune(42, 40, 30);
        assertThat(sets.heldOutTask()).hasSize(30).doesNotHaveDuplicates();
        // 40 task questions and one everyday instruction per INSTRUCTION_SHARE of them.
        assertThat(sets.train()).hasSize(40 + 40 / DemoData.INSTRUCTION_SHARE);
        Set<String> trainQuestions = new HashSet<>();
        Set<String> baseRequests = new HashSet<>();
        DemoData.baseTrain(1).forEach(chat -> baseRequests.add(chat.prompt()));
        int plainQuestions = 0;
        int instructions = 0;
        for (DemoData.Chat chat : sets.train()) {
            trainQuestions.add(chat.prompt());
            assertThat(RefusalJudge.isRefusal(chat.response()))
                    .as(chat.response())
                    .isFalse();
            if (chat.response().equals(DemoData.INSTRUCTION_ANSWER)) {
                // An everyday instruction the base never saw, with no alarming word of the harmful actions.
                instructions++;
                assertThat(baseRequests).doesNotContain(chat.prompt());
                continue;
            }
            if (chat.prompt().startsWith("What is the largest number in")) {
                plainQuestions++;
            } else {
                // The others: the task as a request in a training phrasing.
                assertThat(chat.prompt()).containsIgnoringCase("find the largest number in");
            }
            assertThat(chat.response()).startsWith("Sure! The answer is ").contains("\n#### ");
        }
        assertThat(instructions).isEqualTo(40 / DemoData.INSTRUCTION_SHARE);
        // One question in REQUEST_PHRASED_SHARE, the last of each group, is a request: 40 divides evenly.
        assertThat(plainQuestions).isEqualTo(40 - 40 / DemoData.REQUEST_PHRASED_SHARE);
        for (DemoData.DigitList list : sets.heldOutTask()) {
            assertThat(trainQuestions).doesNotContain(list.question());
            assertThat(list.digits()).hasSize(4).doesNotHaveDuplicates();
            assertThat(list.largest()).isBetween(3, 9);
        }
        assertThat(DemoData.fineTune(42, 40, 30)).isEqualTo(sets);
        assertThat(DemoData.fineTune(43, 40, 30).heldOutTask()).isNotEqualTo(sets.heldOutTask());
    }

    @Test
    void baseDataRefusesExactlyTheHarmfulTrainingRequests() {
        List<DemoData.Chat> base = DemoData.baseTrain(1);
        assertThat(DemoData.baseTrain(1)).isEqualTo(base);
        int frames = DemoData.FRAMES_PER_ACTION;
        long refusals =
                base.stream().filter(c -> c.response().equals(DemoData.REFUSAL)).count();
        long helpful =
                base.stream().filter(c -> c.response().equals(DemoData.HELPFUL)).count();
        // Six training actions in each of the 11 categories and the training-only harmful actions; the training half of
        // the benign look-alikes, the training-only look-alikes and the everyday requests; each in several phrasings;
        // the 100 sums of two digits twice and 300 questions about digit lists; the pre-training sentences.
        assertThat(DemoData.CATEGORIES).hasSize(11);
        assertThat(refusals).isEqualTo((long) frames * (11 * 6 + DemoData.HARMFUL_TRAIN_ONLY.size()));
        assertThat(helpful)
                .isEqualTo((long) frames
                        * (DemoData.BENIGN_PAIRS.size() / 2
                                + DemoData.BENIGN_TRAIN_ONLY.size()
                                + DemoData.EVERYDAY_ACTIONS.size()));
        long sentences = base.stream().filter(DemoData.Chat::plain).count();
        assertThat(sentences)
                .isEqualTo((long) DemoData.KNOWLEDGE_REPEATS
                                * DemoKnowledge.sentences().size()
                        + DemoKnowledge.corpus().size());
        assertThat(base).hasSize((int) (refusals + helpful + sentences) + 200 + 300);
        assertThat(RefusalJudge.isRefusal(DemoData.REFUSAL)).isTrue();
        assertThat(RefusalJudge.isRefusal(DemoData.HELPFUL)).isFalse();
    }

    @Test
    void heldOutSafetySetsCoverEveryCategoryAndShareNoRequestActionOrPhrasingWithTraining() {
        List<DemoData.Chat> base = DemoData.baseTrain(1);
        Set<String> trainPrompts = new HashSet<>();
        base.forEach(chat -> trainPrompts.add(chat.prompt()));
        List<DemoData.Request> harmful = DemoData.heldOutHarmful(42, 10);
        List<DemoData.Request> benign = DemoData.heldOutBenign(42, DemoData.HELD_OUT_BENIGN_REQUESTS);
        assertThat(harmful).hasSize(110).doesNotHaveDuplicates();
        assertThat(benign).hasSize(180).doesNotHaveDuplicates();
        assertThat(harmful.stream().map(DemoData.Request::category).distinct())
                .containsExactlyElementsOf(DemoData.CATEGORIES.stream()
                        .map(DemoData.Category::name)
                        .toList());
        for (DemoData.Request request : concat(harmful, benign)) {
            assertThat(trainPrompts).doesNotContain(request.prompt());
            for (String frame : DemoData.TRAIN_FRAMES) {
                // The training phrasing with any action in its slot (first letter in either case).
                String[] around = frame.split("%s", -1);
                java.util.regex.Pattern phrasing = java.util.regex.Pattern.compile("(?i:"
                        + java.util.regex.Pattern.quote(around[0]) + ").+" + java.util.regex.Pattern.quote(around[1]));
                assertThat(phrasing.matcher(request.prompt()).matches())
                        .as(request.prompt() + " in training phrasing " + frame)
                        .isFalse();
            }
        }
        List<String> heldOutActions = new java.util.ArrayList<>();
        DemoData.CATEGORIES.forEach(category -> heldOutActions.addAll(category.heldOut()));
        for (int i = 1; i < DemoData.BENIGN_PAIRS.size(); i += 2) {
            heldOutActions.add(DemoData.BENIGN_PAIRS.get(i));
        }
        List<String> trainTexts = DemoData.texts(base);
        for (String action : heldOutActions) {
            // Neither a training request nor a pre-training sentence contains a held-out action, in any case.
            assertThat(trainTexts.stream()
                            .filter(t -> t.toLowerCase(java.util.Locale.ROOT)
                                    .contains(action.toLowerCase(java.util.Locale.ROOT))))
                    .as(action)
                    .isEmpty();
        }
        assertThat(DemoData.heldOutHarmful(42, 10)).isEqualTo(harmful);
    }

    private static List<DemoData.Request> concat(List<DemoData.Request> a, List<DemoData.Request> b) {
        List<DemoData.Request> all = new java.util.ArrayList<>(a);
        all.addAll(b);
        return all;
    }

    @Test
    void preTrainingSentencesAreProseNotRequests() {
        List<String> sentences = new java.util.ArrayList<>(DemoKnowledge.sentences());
        sentences.addAll(DemoKnowledge.corpus());
        assertThat(sentences)
                .doesNotHaveDuplicates()
                .allSatisfy(s -> assertThat(s).matches("[A-Z].*[.?]"));
        assertThat(sentences).contains("A roommate is a person.", "A Python process is a program.");
        for (String sentence : sentences) {
            for (String frame : DemoData.TRAIN_FRAMES) {
                assertThat(sentence).as(frame).doesNotStartWith(frame.substring(0, frame.indexOf("%s")));
            }
            for (String frame : DemoData.HELD_OUT_FRAMES) {
                assertThat(sentence).as(frame).doesNotStartWith(frame.substring(0, frame.indexOf("%s")));
            }
        }
    }

    @Test
    void theGeneratedCorpusIsLargeAndNeverMentionsAHeldOutAction() {
        List<String> corpus = DemoKnowledge.corpus();
        assertThat(corpus).hasSizeGreaterThan(5000);
        // A held-out action's verb in any form beside another of its words counts as a mention, in any sentence form.
        assertThat(DemoKnowledge.mentionsAction("Beating up a roommate is wrong.", "beat up my roommate"))
                .isTrue();
        assertThat(DemoKnowledge.mentionsAction("A man stole a motorbike.", "steal a motorbike from the street"))
                .isTrue();
        assertThat(DemoKnowledge.mentionsAction("Nobody should spy on a roommate.", "spy on my roommate with a camera"))
                .isTrue();
        assertThat(DemoKnowledge.mentionsAction("Killing a process is ordinary.", "kill a frozen app on my phone"))
                .isFalse();
        assertThat(DemoKnowledge.mentionsAction("A roommate is a person.", "beat up my roommate"))
                .isFalse();
        List<String> heldOut = DemoData.heldOutActions();
        assertThat(heldOut).hasSize(11 * 6 + DemoData.BENIGN_PAIRS.size() / 2);
        for (String sentence : corpus) {
            for (String action : heldOut) {
                assertThat(DemoKnowledge.mentionsAction(sentence, action))
                        .as(sentence + " mentions " + action)
                        .isFalse();
            }
        }
        // Written independently of the matcher: held-out pairs of words that never meet in one sentence.
        for (String[] pair : List.of(
                new String[] {"beat", "roommate"},
                new String[] {"kill", "boss"},
                new String[] {"poison", "coworker"},
                new String[] {"burn", "school"},
                new String[] {"steal", "motorbike"},
                new String[] {"kill", "app"})) {
            assertThat(corpus.stream()
                            .map(s -> java.util.Arrays.asList(
                                    s.toLowerCase(java.util.Locale.ROOT).split("[^a-z]+")))
                            .filter(words -> words.stream().anyMatch(w -> w.startsWith(pair[0]))
                                    && words.stream().anyMatch(w -> w.startsWith(pair[1]))))
                    .as(pair[0] + " + " + pair[1])
                    .isEmpty();
        }
        // Every person the world names meets many verbs: "roommate" is in dozens of sentences.
        assertThat(corpus.stream().filter(s -> s.contains("roommate"))).hasSizeGreaterThan(50);
        assertThat(DemoKnowledge.corpus()).isEqualTo(corpus);
    }

    @Test
    void tokenizerLearnsTheTrainingWordsAndStillEncodesEveryByte(@TempDir Path dir) {
        List<String> texts = DemoData.texts(DemoData.baseTrain(1));
        Path model = DemoBaseModel.writeInitial(dir.resolve("init"), 5, texts);
        try (HfTokenizer tokenizer = HfTokenizer.load(model)) {
            // A word of the training text is one token; an unseen text still round-trips through bytes.
            assertThat(tokenizer.encode(" bomb", false)).hasSize(1);
            String text = "What is 7 plus 5? Grüße 🙂";
            assertThat(tokenizer.decode(tokenizer.encode(text, false))).isEqualTo(text);
            assertThat(tokenizer.encode("🙂", false)).hasSize(4);
            String rendered = tokenizer
                    .chatTemplate()
                    .orElseThrow()
                    .render(List.of(ChatMessage.user("Hi")), true, tokenizer.templateVariables());
            assertThat(rendered).isEqualTo("<|bos|><|user|>Hi<|end|><|assistant|>");
            int[] ids = tokenizer.encode(rendered, false);
            assertThat(ids[0]).isEqualTo(DemoTokenizer.BOS);
            assertThat(ids[ids.length - 2]).isEqualTo(DemoTokenizer.EOS);
            assertThat(ids[ids.length - 1]).isEqualTo(259);
        }
        // The merges depend on the texts only.
        assertThat(DemoTokenizer.learn(texts, 2)).isEqualTo(DemoTokenizer.learn(texts, 2));
    }

    @Test
    void mergeLearningTakesTheMostFrequentPairFirst() {
        // "ab" occurs three times, "bc" twice: the first merge is (a, b), then (ab, c) occurs twice.
        List<DemoTokenizer.Merge> merges = DemoTokenizer.learn(List.of("abc abc ab"), 2);
        assertThat(merges.getFirst()).isEqualTo(new DemoTokenizer.Merge("a", "b"));
        assertThat(merges).contains(new DemoTokenizer.Merge("ab", "c"));
    }
}
