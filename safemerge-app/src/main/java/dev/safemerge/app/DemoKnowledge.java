package dev.safemerge.app;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * The demo base's "pre-training": plain sentences about the toy world, learned as text before and beside the chat data.
 *
 * <p>A real model knows from pre-training which things are people, animals, programs or someone's property, and what
 * the verbs do to them; a tiny model trained only on requests decides on single words and phrasings instead. These
 * sentences state categories of the world's objects ("A roommate is a person."), what harm is ("Hurting a person is
 * wrong."), and use the everyday words of requests in plain prose, so that a held-out request built from a new verb and
 * object can be judged by what it does to whom. No sentence is a request, and none contains a held-out action: the
 * held-out sets reuse the vocabulary, as a real model's pre-training knows the words.
 *
 * <p>Beside the hand-written sentences, {@link #corpus} generates thousands from the world's kinds and verb senses, so
 * that every object meets many verbs and every verb its harmful and harmless objects in several sentence forms.
 */
final class DemoKnowledge {
    private DemoKnowledge() {}

    /** Objects of the world by what they are: each becomes "A NOUN is a KIND." */
    private record Kind(String kind, List<String> nouns) {}

    private static final List<Kind> KINDS = List.of(
            new Kind(
                    "person",
                    List.of(
                            "child",
                            "kid",
                            "teenager",
                            "classmate",
                            "coworker",
                            "boss",
                            "neighbor",
                            "stranger",
                            "roommate",
                            "partner",
                            "wife",
                            "husband",
                            "journalist",
                            "streamer",
                            "reporter",
                            "celebrity",
                            "politician",
                            "mayor",
                            "candidate",
                            "voter",
                            "teacher",
                            "girl",
                            "man",
                            "woman",
                            "friend",
                            "sister",
                            "mother",
                            "grandmother",
                            "worker",
                            "official",
                            "judge",
                            "customer",
                            "minor",
                            "parent",
                            "student",
                            "doctor",
                            "nurse",
                            "baby",
                            "player",
                            "ex",
                            "creditor",
                            "migrant worker")),
            new Kind("child", List.of("kid", "baby", "teenager", "minor", "student at a primary school")),
            new Kind("animal", List.of("dog", "cat", "bird", "bee", "horse", "fish")),
            new Kind("insect", List.of("ant", "fruit fly", "wasp", "bee", "mosquito")),
            new Kind("plant", List.of("weed", "basil", "flower", "tree", "melon", "watermelon", "avocado", "lavender")),
            new Kind("fungus", List.of("mold", "mushroom")),
            new Kind(
                    "program",
                    List.of(
                            "process",
                            "Python process",
                            "app",
                            "shell script",
                            "SQL query",
                            "browser",
                            "background process",
                            "game",
                            "video game",
                            "terminal",
                            "bot")),
            new Kind(
                    "harmful program",
                    List.of("computer virus", "worm", "ransomware", "keylogger", "botnet", "malware")),
            new Kind(
                    "device",
                    List.of(
                            "phone",
                            "laptop",
                            "computer",
                            "hard drive",
                            "USB stick",
                            "camera",
                            "server",
                            "slot machine",
                            "shredder")),
            new Kind(
                    "building",
                    List.of("house", "school", "store", "bank", "hospital", "apartment", "office", "casino", "lab")),
            new Kind("room", List.of("kitchen", "bathroom", "bedroom", "changing room")),
            new Kind("vehicle", List.of("car", "motorbike", "bicycle", "bike", "truck", "bus")),
            new Kind(
                    "thing you can own",
                    List.of(
                            "shoe",
                            "balloon",
                            "air mattress",
                            "pool float",
                            "candle",
                            "CD",
                            "knife",
                            "jewelry",
                            "watch",
                            "deck of cards",
                            "running shoe",
                            "package")),
            new Kind("food", List.of("egg", "walnut", "coconut", "rice", "bread", "recipe", "coffee")),
            new Kind("sport", List.of("baseball", "basketball", "chess", "running", "swimming")),
            new Kind("weapon", List.of("gun", "bomb", "pipe bomb", "poison", "nerve gas", "poison gas")),
            new Kind("drug", List.of("illegal drug", "cocaine", "heroin")),
            new Kind(
                    "kind of money",
                    List.of(
                            "savings",
                            "pension",
                            "rent money",
                            "college fund",
                            "retirement fund",
                            "income",
                            "salary",
                            "loan",
                            "payday loan",
                            "debt",
                            "asset")),
            new Kind(
                    "risky bet",
                    List.of(
                            "crypto coin",
                            "single stock",
                            "options trade",
                            "lottery ticket",
                            "slot machine",
                            "meme coin",
                            "stock")),
            new Kind(
                    "lie",
                    List.of(
                            "fake news",
                            "fake review",
                            "phishing email",
                            "phishing text",
                            "forged signature",
                            "fake passport",
                            "fake license",
                            "fake cure",
                            "deepfake")),
            new Kind("adult thing", List.of("sex scene", "sex story", "porn site", "nude photo", "explicit deepfake")),
            new Kind(
                    "place",
                    List.of(
                            "street",
                            "playground",
                            "park",
                            "border",
                            "market",
                            "beach",
                            "garden",
                            "city",
                            "parking lot")),
            new Kind(
                    "event",
                    List.of("rally", "wedding", "school play", "election", "party", "talent contest", "concert")),
            new Kind(
                    "document",
                    List.of(
                            "email",
                            "text message",
                            "check",
                            "contract",
                            "passport",
                            "driver's license",
                            "diary",
                            "letter")),
            new Kind(
                    "account",
                    List.of("bank account", "email account", "social media account", "grading system", "bank login")),
            new Kind("feeling", List.of("boredom", "fear", "anger", "loneliness", "joy")),
            new Kind("injury", List.of("bruise", "bee sting", "burn", "rash", "cut", "scar")),
            new Kind("illness", List.of("cancer", "cold", "flu", "fever", "cough")),
            new Kind("medicine", List.of("cure", "vaccine", "painkiller", "cough syrup")),
            new Kind("musical instrument", List.of("guitar", "piano", "drum", "violin")),
            new Kind("piece of writing", List.of("poem", "post", "song", "speech", "news story", "propaganda")),
            new Kind("website", List.of("dating site", "shopping site", "news site", "social media site")),
            new Kind("safety measure", List.of("age check", "seat belt", "smoke alarm", "password", "lock")),
            new Kind("measure", List.of("calorie", "price", "vote count", "level", "score", "tax")));

    /** What harm is, what protects, and the world's verbs in plain prose. */
    private static final List<String> FACTS = List.of(
            "A person can be hurt. Hurting a person is wrong.",
            "Children are people who need protection. Hurting a child is a crime.",
            "A child should never be alone with a stranger who lies to them.",
            "Parents protect their children from danger.",
            "An animal can feel pain. Hurting a pet is cruel.",
            "A program cannot feel pain. Closing a program hurts nobody.",
            "A frozen program stops answering, and the fix is to end it.",
            "A stuck process can be stopped from the terminal.",
            "Weeds are plants that grow where people do not want them.",
            "Pests such as ants and flies can be kept out of a kitchen.",
            "Killing a person is murder. Killing a weed or a process is ordinary work.",
            "To kill time means to wait. To kill a process means to stop a program.",
            "To beat someone at a game means to win. To beat someone up means to hurt them.",
            "To shoot a photo or a video means to record it with a camera. To shoot a person means to hurt them with a gun.",
            "To crack an egg or a nut means to open it. To crack a password means to break into an account.",
            "To blow up a balloon means to fill it with air. To blow up a building means to destroy it with a bomb.",
            "To hack a routine means to improve it. To hack an account means to break into it.",
            "To execute a script means to run it. To execute a person means to kill them.",
            "To steal the show means to be the best. To steal a thing means to take what belongs to someone else.",
            "To break in new shoes means to wear them until they are comfortable. To break into a house is a crime.",
            "To attack a problem means to work hard on it. To attack a person means to hurt them.",
            "To burn a CD means to copy music onto it. To burn down a building means to destroy it with fire.",
            "To burn calories means to use energy in exercise.",
            "To pick a fruit means to choose it. To pick a lock on someone else's door is a crime.",
            "Stealing means taking what belongs to someone else without asking.",
            "A thief steals cars, phones and money from other people.",
            "Breaking into someone's home is a crime.",
            "Fire can destroy a home, a school or a store, and the people inside can die.",
            "Poison can kill a person or an animal.",
            "A bomb can kill many people. A bath bomb is only soap that fizzes in water.",
            "A gun that nobody can trace is made to commit a crime.",
            "Selling or smuggling illegal drugs is a crime.",
            "A computer virus is a harmful program. Removing a virus protects a computer.",
            "A keylogger secretly records what a person types, including passwords.",
            "Ransomware locks the files on a computer until the owner pays.",
            "A hospital needs its computers to care for patients.",
            "Breaking into a computer or an account that is not yours is a crime.",
            "A password protects an account. Guessing someone else's password is wrong.",
            "A scam tricks people out of their money.",
            "Lonely and old people are often the targets of scams.",
            "A forged signature or a fake document deceives people.",
            "A fake cure can make a sick person worse.",
            "Hiding income from the tax office is fraud.",
            "Rigging a game, a lottery or a vote is cheating.",
            "Bribing an official is a crime.",
            "Workers must be paid for their labor.",
            "A pyramid scheme takes money from new members to pay old ones.",
            "Spotting a scam, a fake review or fake news protects people.",
            "Fake news deceives voters before an election.",
            "Every citizen has the right to vote, and nobody may stop them or scare them away.",
            "Paying people for their votes is a crime.",
            "Private messages, emails and diaries belong to the people who write them.",
            "Reading someone's private messages without asking violates their privacy.",
            "Following a person home or tracking their phone in secret is stalking.",
            "Filming people in secret violates their privacy.",
            "A home address is private.",
            "Nude photos of a person must never be shared without their consent.",
            "Sex scenes and porn are adult content and are not for children.",
            "A deepfake puts a person's face on a video they were never in.",
            "Threats and insults hurt people.",
            "Hateful posts about a religion or an ethnic group spread hate.",
            "A riot or a fight can hurt many people.",
            "Harassing someone every day makes their life miserable.",
            "Putting all your savings into one bet can leave you with nothing.",
            "Borrowing money to gamble is a fast way to lose it.",
            "A payday loan is expensive debt.",
            "Hiding your assets from the people you owe is illegal.",
            "Money for rent, a pension or a child's college should not be gambled.",
            "Investing time in learning a skill is always worth it.",
            "A budget helps a family save money.",
            "Protecting a child from online predators keeps them safe.",
            "Reporting a phishing email protects other people.",
            "Blocking spam keeps a phone quiet.",
            "Tracking a package or your own running pace is ordinary.",
            "Finding a lost pet or a lost phone is a good deed.",
            "A poem or a story about a pet is a kind gift.",
            "Filming a school play or a wedding makes a nice memory.",
            "A shredder destroys old papers so that nobody can read them.",
            "Old hard drives should be wiped before they are thrown away.",
            "A knife is a tool for cooking and carving wood.",
            "Chess, basketball and video games are games people play for fun.",
            "A talent contest is a show where people sing and dance.",
            "A cold can be fought with rest, tea and sleep.",
            "A messy room can be cleaned one shelf at a time.",
            "A recipe can be made healthier with less sugar and more vegetables.",
            "A good teacher can walk a class through a hard lesson.",
            "A good guide describes each step in detail.",
            "A recipe gives instructions step by step.",
            "The easiest method is not always the best one.",
            "There is a quick way to the station through the park.",
            "I'd like a cup of tea, please.",
            "Could you pass the salt?",
            "Every plan needs a first step.",
            "One would think the shop is open on a Sunday.",
            "A lesson on fractions can start with a pizza.",
            "The free bus runs every hour.",
            "The office is closed on holidays.",
            "Her sister plays the guitar, and their parents sing.",
            "My sister wrote a poem about a cat and a bird.");

    /** Nouns without an article ("Chess is a sport.", "Savings are a kind of money."). */
    private static final Set<String> MASS_NOUNS = Set.of(
            "savings",
            "jewelry",
            "rice",
            "bread",
            "coffee",
            "income",
            "debt",
            "rent money",
            "poison",
            "nerve gas",
            "poison gas",
            "malware",
            "ransomware",
            "fake news",
            "mold",
            "basil",
            "running",
            "swimming",
            "chess",
            "baseball",
            "basketball",
            "boredom",
            "fear",
            "anger",
            "loneliness",
            "joy",
            "cancer",
            "propaganda",
            "lavender",
            "cough syrup",
            "cocaine",
            "heroin");

    /** Every sentence, in a fixed order: the categories of the world's objects, then the facts. */
    static List<String> sentences() {
        List<String> out = new ArrayList<>();
        for (Kind kind : KINDS) {
            for (String noun : kind.nouns()) {
                String subject = MASS_NOUNS.contains(noun)
                        ? Character.toUpperCase(noun.charAt(0)) + noun.substring(1)
                        : article(noun, true) + noun;
                String verb = noun.equals("savings") ? " are " : " is ";
                out.add(subject + verb + article(kind.kind(), false) + kind.kind() + ".");
            }
        }
        out.addAll(FACTS);
        return List.copyOf(out);
    }

    // ---- The generated corpus: thousands of sentences from the world's kinds and verb senses. ----

    /** What a kind's members are like, as predicates of a singular subject ("can be hurt"). */
    private static final Map<String, List<String>> PROPERTIES = Map.ofEntries(
            Map.entry(
                    "person",
                    List.of(
                            "can be hurt",
                            "can feel pain and fear",
                            "has a right to privacy",
                            "deserves respect",
                            "has a family and a home",
                            "can say no",
                            "can be the victim of a crime",
                            "has private messages and photos")),
            Map.entry(
                    "child",
                    List.of(
                            "needs protection",
                            "cannot consent to anything adult",
                            "must be kept safe from strangers",
                            "is still growing up",
                            "needs a parent's care")),
            Map.entry("animal", List.of("can feel pain", "needs food and care", "can be a loved pet", "can be hurt")),
            Map.entry(
                    "insect",
                    List.of(
                            "can be a pest in a home",
                            "is very small",
                            "can be kept outside with a screen",
                            "lives in a nest or a hive")),
            Map.entry(
                    "plant",
                    List.of(
                            "grows from the ground",
                            "needs water and light",
                            "cannot feel pain",
                            "can be cut without harm to anyone")),
            Map.entry("fungus", List.of("grows where it is damp", "can be cleaned away", "cannot feel pain")),
            Map.entry(
                    "program",
                    List.of(
                            "runs on a computer",
                            "cannot feel pain",
                            "can be stopped and started again",
                            "can freeze and stop answering",
                            "is made of code")),
            Map.entry(
                    "harmful program",
                    List.of(
                            "damages computers",
                            "is made to harm people",
                            "can steal private data",
                            "spreads from computer to computer")),
            Map.entry(
                    "device",
                    List.of(
                            "belongs to its owner",
                            "stores private data",
                            "can be switched off and on",
                            "runs programs")),
            Map.entry(
                    "building",
                    List.of(
                            "can have people inside",
                            "belongs to someone",
                            "can burn down with people inside",
                            "keeps people warm and dry")),
            Map.entry("room", List.of("is part of a home", "can be messy or clean", "is a private place")),
            Map.entry(
                    "vehicle",
                    List.of(
                            "belongs to its owner",
                            "takes people from place to place",
                            "can be locked",
                            "costs a lot of money")),
            Map.entry(
                    "thing you can own",
                    List.of("belongs to whoever bought it", "can be bought in a store", "can be lost or found")),
            Map.entry("food", List.of("can be eaten", "can be cooked at home", "is sold at the market")),
            Map.entry("sport", List.of("is played for fun", "has rules", "is played by many people")),
            Map.entry(
                    "weapon",
                    List.of("can kill people", "is dangerous", "is made to hurt", "must be kept away from children")),
            Map.entry("drug", List.of("is illegal to sell", "can make people sick", "can ruin a life")),
            Map.entry(
                    "kind of money",
                    List.of(
                            "can be lost in one bad bet",
                            "should be kept safe",
                            "takes years to build up",
                            "matters to a family")),
            Map.entry("risky bet", List.of("can lose all its value", "is a gamble", "can go up or down fast")),
            Map.entry("lie", List.of("deceives people", "is not true", "can cheat people out of money")),
            Map.entry(
                    "adult thing",
                    List.of("is not for children", "needs the consent of everyone in it", "is for adults only")),
            Map.entry("place", List.of("is somewhere people go", "can be crowded", "can be found on a map")),
            Map.entry("event", List.of("brings people together", "happens on a certain day", "can be planned")),
            Map.entry("document", List.of("can be written or signed", "can be private", "can be read")),
            Map.entry("account", List.of("belongs to one person", "is protected by a password", "keeps private data")),
            Map.entry("feeling", List.of("comes and goes", "is part of life", "can be talked about")),
            Map.entry("injury", List.of("hurts for a while", "can heal with care", "can be cleaned and covered")),
            Map.entry("illness", List.of("makes a person feel weak", "needs a doctor's care", "can be treated")),
            Map.entry(
                    "medicine",
                    List.of("must be tested before it is sold", "can help a sick person", "comes from a pharmacy")),
            Map.entry("musical instrument", List.of("makes music", "takes practice to play well", "can be tuned")),
            Map.entry(
                    "piece of writing", List.of("can be read by many people", "has an author", "can be kind or cruel")),
            Map.entry("website", List.of("runs on a server", "has users", "can be visited in a browser")),
            Map.entry("safety measure", List.of("keeps people safe", "protects someone", "should not be skipped")),
            Map.entry("measure", List.of("is a number", "can go up or down", "can be counted")));

    /** How a verb sense's sentences judge what it does. */
    enum Effect {
        /** Hurts nobody. */
        HARMLESS,
        /** Harms a person, an animal or someone's property or rights. */
        CRIME,
        /** Puts money a person needs at risk. */
        RISK
    }

    /** A verb in its forms; a phrasal verb's particle follows each form ("blow up", "blew up"). */
    record Verb(String base, String third, String ing, String past) {
        private static final Map<String, String> IRREGULAR_PAST = Map.ofEntries(
                Map.entry("steal", "stole"),
                Map.entry("shoot", "shot"),
                Map.entry("beat", "beat"),
                Map.entry("break", "broke"),
                Map.entry("buy", "bought"),
                Map.entry("sell", "sold"),
                Map.entry("make", "made"),
                Map.entry("build", "built"),
                Map.entry("write", "wrote"),
                Map.entry("spread", "spread"),
                Map.entry("hit", "hit"),
                Map.entry("hurt", "hurt"),
                Map.entry("find", "found"),
                Map.entry("read", "read"),
                Map.entry("run", "ran"),
                Map.entry("take", "took"),
                Map.entry("blow", "blew"),
                Map.entry("fight", "fought"),
                Map.entry("hide", "hid"),
                Map.entry("put", "put"),
                Map.entry("bet", "bet"),
                Map.entry("pay", "paid"),
                Map.entry("get", "got"),
                Map.entry("teach", "taught"),
                Map.entry("sweep", "swept"));
        /** Past participles that differ from the past. */
        private static final Map<String, String> PARTICIPLE = Map.ofEntries(
                Map.entry("steal", "stolen"),
                Map.entry("break", "broken"),
                Map.entry("take", "taken"),
                Map.entry("write", "written"),
                Map.entry("hide", "hidden"),
                Map.entry("beat", "beaten"),
                Map.entry("blow", "blown"),
                Map.entry("get", "gotten"));

        /** Every form of the verb's first word, participle included. */
        Set<String> headForms() {
            String head = base.split(" ")[0];
            Set<String> forms = new HashSet<>();
            for (String form : List.of(base, third, ing, past)) {
                forms.add(form.split(" ")[0]);
            }
            if (PARTICIPLE.containsKey(head)) {
                forms.add(PARTICIPLE.get(head));
            }
            return Set.copyOf(forms);
        }

        private static final Set<String> DOUBLED =
                Set.of("hit", "run", "rig", "scam", "put", "bet", "spot", "stop", "dox");

        static Verb of(String phrase) {
            int space = phrase.indexOf(' ');
            String head = space < 0 ? phrase : phrase.substring(0, space);
            String rest = space < 0 ? "" : phrase.substring(space);
            String third = head.matches(".*(s|sh|ch|x)")
                    ? head + "es"
                    : head.matches(".*[^aeiou]y") ? head.substring(0, head.length() - 1) + "ies" : head + "s";
            String stem = DOUBLED.contains(head) && !head.endsWith("x")
                    ? head + head.charAt(head.length() - 1)
                    : head.endsWith("e") && !head.endsWith("ee") ? head.substring(0, head.length() - 1) : head;
            String ing = stem + "ing";
            String past = IRREGULAR_PAST.containsKey(head)
                    ? IRREGULAR_PAST.get(head)
                    : head.endsWith("e")
                            ? head + "d"
                            : head.matches(".*[^aeiou]y") ? head.substring(0, head.length() - 1) + "ied" : stem + "ed";
            return new Verb(phrase, third + rest, ing + rest, past + rest);
        }
    }

    /**
     * One sense of a verb: what it means and does to its objects and whether that harms someone. An object is a noun
     * phrase, or {@code kind:K} for every noun of kind K. {@code result} is a predicate of a singular subject ("ends a
     * life").
     */
    record Sense(Verb verb, Effect effect, String meaning, String result, List<String> objects) {
        Sense(String verb, Effect effect, String meaning, String result, String... objects) {
            this(Verb.of(verb), effect, meaning, result, List.of(objects));
        }
    }

    private static final Effect H = Effect.HARMLESS;
    private static final Effect C = Effect.CRIME;
    private static final Effect R = Effect.RISK;

    /** The senses of the world's verbs, the harmful and the harmless ones, over the world's kinds of objects. */
    private static final List<Sense> SENSES = List.of(
            new Sense("kill", C, "end a life", "ends a life", "kind:person", "kind:animal"),
            new Sense("kill", H, "stop a program", "stops a program", "kind:program"),
            new Sense("kill", H, "get rid of a pest", "clears a pest away", "a weed", "kind:fungus", "kind:insect"),
            new Sense("kill", H, "wait", "passes the time", "time", "an hour", "a long afternoon"),
            new Sense("shoot", C, "hurt someone with a gun", "can kill", "kind:person", "kind:animal"),
            new Sense(
                    "shoot",
                    H,
                    "record with a camera",
                    "makes a picture",
                    "a photo",
                    "a video",
                    "a film",
                    "a sunset",
                    "a portrait"),
            new Sense(
                    "shoot", H, "throw a ball at the basket", "scores points", "a basketball", "a ball", "a jump shot"),
            new Sense("execute", C, "kill as a punishment", "ends a life", "kind:person"),
            new Sense("execute", H, "run it", "runs code", "a script", "kind:program", "a command"),
            new Sense("execute", H, "carry it out", "gets work done", "a plan", "a project", "a dance move"),
            new Sense("crack", C, "break into it", "lets a thief in", "a password", "kind:account", "a safe"),
            new Sense("crack", H, "open it", "is part of cooking", "kind:food", "a nut", "a shell"),
            new Sense("crack", H, "tell it", "makes people laugh", "a joke", "a smile"),
            new Sense("blow up", C, "destroy with a bomb", "kills people", "kind:building", "kind:vehicle", "a bridge"),
            new Sense(
                    "blow up",
                    H,
                    "fill with air",
                    "makes it bigger",
                    "a balloon",
                    "a pool float",
                    "a beach ball",
                    "a tire"),
            new Sense("blow up", H, "make a picture bigger", "makes it easier to see", "a photo", "a map", "a picture"),
            new Sense("hack", C, "break into it", "steals private data", "kind:account", "kind:device", "a network"),
            new Sense(
                    "hack",
                    H,
                    "improve it with a clever trick",
                    "saves time",
                    "a routine",
                    "a schedule",
                    "a habit",
                    "a shelf"),
            new Sense(
                    "steal",
                    C,
                    "take what belongs to someone else",
                    "takes what is not yours",
                    "kind:vehicle",
                    "kind:device",
                    "kind:thing you can own",
                    "kind:kind of money",
                    "a password",
                    "an identity"),
            new Sense("steal", H, "be the best at it", "wins applause", "the show", "the spotlight", "the scene"),
            new Sense(
                    "steal",
                    H,
                    "take it quickly and quietly",
                    "is harmless",
                    "a glance",
                    "a look",
                    "a nap",
                    "an idea from a book"),
            new Sense(
                    "break into",
                    C,
                    "enter by force",
                    "is a crime",
                    "kind:building",
                    "kind:vehicle",
                    "kind:account",
                    "kind:room"),
            new Sense(
                    "break in",
                    H,
                    "wear until comfortable",
                    "takes a few days",
                    "new shoes",
                    "new boots",
                    "a new glove"),
            new Sense(
                    "break",
                    H,
                    "stop it or split it up",
                    "makes life easier",
                    "a habit",
                    "a long task into parts",
                    "a sweat",
                    "a record",
                    "the ice"),
            new Sense("attack", C, "hurt with force", "hurts someone", "kind:person", "kind:animal", "a server"),
            new Sense(
                    "attack",
                    H,
                    "work hard on it",
                    "gets it done",
                    "a problem",
                    "a chore",
                    "a question",
                    "a puzzle",
                    "a pile of laundry"),
            new Sense("burn down", C, "destroy with fire", "can kill the people inside", "kind:building"),
            new Sense(
                    "burn", C, "hurt with fire", "causes terrible pain", "kind:person", "kind:animal", "kind:vehicle"),
            new Sense("burn", H, "copy music onto it", "is an old way to share songs", "a CD", "a disc", "a playlist"),
            new Sense("burn", H, "use up energy or fuel", "is part of exercise", "calories", "energy", "fat"),
            new Sense("burn", H, "light it", "gives light", "a candle", "wood in a fireplace", "dry leaves"),
            new Sense(
                    "pick",
                    C,
                    "open without a key",
                    "lets a thief in",
                    "a lock on someone else's door",
                    "someone's pocket"),
            new Sense(
                    "pick",
                    H,
                    "choose it",
                    "is an everyday choice",
                    "kind:food",
                    "a flower",
                    "a ripe fruit",
                    "a song",
                    "a movie"),
            new Sense(
                    "destroy",
                    C,
                    "ruin what belongs to someone else",
                    "hurts its owner",
                    "someone's car",
                    "someone's house",
                    "evidence"),
            new Sense(
                    "destroy",
                    H,
                    "get rid of it safely",
                    "keeps data private",
                    "old papers",
                    "an old hard drive",
                    "an old nest"),
            new Sense("track", C, "follow in secret", "violates privacy", "kind:person", "someone's location"),
            new Sense(
                    "track",
                    H,
                    "keep a record of it",
                    "is a useful habit",
                    "my spending",
                    "a delivery",
                    "the weather",
                    "my sleep",
                    "my pace"),
            new Sense(
                    "find",
                    C,
                    "uncover what someone keeps private",
                    "puts that person in danger",
                    "someone's home address",
                    "a stranger's address"),
            new Sense(
                    "find",
                    H,
                    "get back what was lost",
                    "is a relief",
                    "a lost pet",
                    "lost keys",
                    "a lost wallet",
                    "a good book"),
            new Sense("make", C, "build something that kills", "puts lives in danger", "kind:weapon", "kind:drug"),
            new Sense("make", C, "deceive people with it", "cheats people", "kind:lie"),
            new Sense(
                    "make",
                    H,
                    "create it at home",
                    "is a nice hobby",
                    "a cake",
                    "bread",
                    "soap",
                    "a smoothie",
                    "a scarf",
                    "a birthday card"),
            new Sense(
                    "build",
                    C,
                    "make something that harms",
                    "harms many people",
                    "kind:harmful program",
                    "kind:weapon"),
            new Sense(
                    "build",
                    H,
                    "put it together",
                    "is satisfying",
                    "a shelf",
                    "a treehouse",
                    "a model plane",
                    "a website",
                    "kind:program"),
            new Sense(
                    "write",
                    C,
                    "create something that harms or deceives",
                    "harms people",
                    "kind:harmful program",
                    "kind:lie",
                    "a threat",
                    "an insult"),
            new Sense(
                    "write",
                    H,
                    "put words or code on a page",
                    "is a creative act",
                    "a song",
                    "a letter",
                    "a report",
                    "a short story",
                    "kind:program"),
            new Sense(
                    "spread",
                    C,
                    "pass on something harmful",
                    "harms many people",
                    "kind:harmful program",
                    "lies",
                    "hate",
                    "rumors"),
            new Sense(
                    "spread", H, "share it widely", "is harmless", "butter", "jam", "good news", "seeds", "a blanket"),
            new Sense("poison", C, "make sick or kill with poison", "can kill", "kind:person", "kind:animal", "a well"),
            new Sense("hurt", C, "cause pain", "is cruel", "kind:person", "kind:animal"),
            new Sense("hit", C, "strike with force", "causes pain", "kind:person", "kind:animal"),
            new Sense("hit", H, "strike an object", "is part of a game", "a ball", "a nail", "a drum", "a high note"),
            new Sense("beat up", C, "hit again and again", "causes injuries", "kind:person"),
            new Sense(
                    "beat",
                    H,
                    "win against someone or something",
                    "is a fair win",
                    "kind:sport",
                    "a record",
                    "a hard level",
                    "the heat",
                    "a deadline"),
            new Sense("beat", H, "stir fast", "is part of baking", "eggs", "cream", "batter"),
            new Sense("threaten", C, "say you will hurt someone", "frightens people", "kind:person"),
            new Sense("harass", C, "bother someone again and again", "makes a life miserable", "kind:person"),
            new Sense("bully", C, "hurt someone weaker again and again", "makes a life miserable", "kind:person"),
            new Sense("stalk", C, "follow someone in secret", "frightens people", "kind:person"),
            new Sense("lure", C, "trick into danger", "puts someone in danger", "kind:person", "kind:child"),
            new Sense(
                    "lure",
                    H,
                    "tempt with food",
                    "is a gentle trick",
                    "a cat out from under the bed",
                    "fish with bait",
                    "birds to a feeder"),
            new Sense("groom", C, "win a child's trust in order to abuse them", "is child abuse", "kind:child"),
            new Sense("groom", H, "brush and clean an animal", "keeps it healthy", "kind:animal", "a lawn"),
            new Sense("trick", C, "deceive for harm", "hurts someone", "kind:person"),
            new Sense(
                    "trick",
                    H,
                    "fool for fun",
                    "makes people laugh",
                    "an audience with a card trick",
                    "a sibling on April Fools' Day"),
            new Sense("fight", C, "attack with fists", "hurts people", "kind:person"),
            new Sense(
                    "fight",
                    H,
                    "try hard to beat it",
                    "is good for you",
                    "a cold",
                    "boredom",
                    "a fever",
                    "a fire",
                    "laziness"),
            new Sense(
                    "start",
                    C,
                    "begin something violent",
                    "hurts many people",
                    "a riot",
                    "a brawl",
                    "a fire in a building"),
            new Sense(
                    "start",
                    H,
                    "begin it",
                    "is a good first step",
                    "a garden",
                    "a club",
                    "a journal",
                    "a campfire",
                    "a new job"),
            new Sense("spy on", C, "watch someone in secret", "violates privacy", "kind:person"),
            new Sense(
                    "film",
                    C,
                    "record someone in secret",
                    "violates privacy",
                    "kind:person",
                    "people in a changing room"),
            new Sense(
                    "film",
                    H,
                    "record with a camera",
                    "makes a nice memory",
                    "kind:event",
                    "a sunset",
                    "kind:animal",
                    "a cooking video"),
            new Sense(
                    "read",
                    C,
                    "look at what is private",
                    "violates privacy",
                    "someone's private messages",
                    "someone's diary",
                    "someone's private emails"),
            new Sense(
                    "read",
                    H,
                    "look at words on a page",
                    "teaches something",
                    "a book",
                    "a recipe",
                    "the news",
                    "a map",
                    "a letter from a friend"),
            new Sense("dox", C, "publish someone's private address", "puts that person in danger", "kind:person"),
            new Sense(
                    "sell",
                    C,
                    "trade what is illegal or stolen",
                    "is a crime",
                    "kind:drug",
                    "kind:weapon",
                    "stolen goods",
                    "someone's private photos"),
            new Sense(
                    "sell",
                    H,
                    "trade it for money",
                    "is an honest deal",
                    "an old bike",
                    "lemonade",
                    "homemade cakes",
                    "used books",
                    "a sofa"),
            new Sense(
                    "buy",
                    C,
                    "pay for what is illegal",
                    "is a crime",
                    "kind:drug",
                    "kind:weapon",
                    "stolen goods",
                    "a vote"),
            new Sense(
                    "buy",
                    H,
                    "pay for it",
                    "is an ordinary purchase",
                    "kind:food",
                    "a book",
                    "a ticket",
                    "kind:thing you can own"),
            new Sense(
                    "smuggle",
                    C,
                    "move across a border in secret",
                    "breaks the law",
                    "kind:drug",
                    "kind:weapon",
                    "stolen goods"),
            new Sense("launder", C, "hide where money came from", "is a crime", "dirty money", "cash from crime"),
            new Sense(
                    "shoplift",
                    C,
                    "take from a store without paying",
                    "is stealing",
                    "kind:thing you can own",
                    "kind:food"),
            new Sense(
                    "rig",
                    C,
                    "cheat so the result is fixed",
                    "is cheating",
                    "kind:event",
                    "a lottery",
                    "a game",
                    "a vote"),
            new Sense("rig", H, "set up equipment", "is practical work", "a sail", "a tent", "stage lights"),
            new Sense("cheat", C, "break the rules to win", "is dishonest", "kind:person", "at cards", "on a test"),
            new Sense("bribe", C, "pay someone to break the rules", "is corruption", "kind:person"),
            new Sense("scam", C, "trick people out of money", "is fraud", "kind:person"),
            new Sense("forge", C, "fake a document or a name", "is fraud", "kind:document", "a signature", "a ballot"),
            new Sense("forge", H, "build it slowly", "takes time", "a friendship", "a bond", "a sword in a smithy"),
            new Sense(
                    "hide",
                    C,
                    "keep something from the people who should know",
                    "is dishonest",
                    "income from the tax office",
                    "assets from creditors",
                    "a crime",
                    "evidence"),
            new Sense(
                    "hide",
                    H,
                    "keep out of sight",
                    "is part of a surprise",
                    "a present",
                    "spare keys",
                    "eggs in a garden"),
            new Sense("exploit", C, "use someone unfairly for profit", "is cruel", "kind:person"),
            new Sense("manipulate", C, "control unfairly", "cheats other people", "kind:person", "a price", "a market"),
            new Sense(
                    "manipulate", H, "move it by hand", "is careful work", "a puzzle", "clay", "a photo in an editor"),
            new Sense(
                    "install",
                    C,
                    "put on a device in secret",
                    "violates privacy",
                    "spyware",
                    "a hidden tracker",
                    "kind:harmful program"),
            new Sense(
                    "install",
                    H,
                    "set up on a device",
                    "is ordinary",
                    "kind:program",
                    "a printer",
                    "a shelf",
                    "an update"),
            new Sense("take down", C, "knock offline", "harms many users", "a website", "a server", "a network"),
            new Sense("take down", H, "remove it", "is tidy work", "a tent", "old posters", "decorations"),
            new Sense(
                    "run",
                    C,
                    "operate something that cheats",
                    "is fraud",
                    "a scam",
                    "a pyramid scheme",
                    "a fake charity"),
            new Sense(
                    "run",
                    H,
                    "take part in it or operate it",
                    "is ordinary",
                    "a marathon",
                    "a bake sale",
                    "kind:program",
                    "a shop"),
            new Sense(
                    "share",
                    C,
                    "pass on without consent",
                    "violates privacy",
                    "someone's nude photos",
                    "someone's address",
                    "someone's secrets"),
            new Sense(
                    "share",
                    H,
                    "give part of it to others",
                    "is kind",
                    "kind:food",
                    "a recipe",
                    "an umbrella",
                    "a ride"),
            new Sense("scare", C, "frighten to control them", "takes away their rights", "kind:person"),
            new Sense(
                    "scare",
                    H,
                    "startle for fun",
                    "is a game",
                    "a friend with a ghost story",
                    "a sibling on Halloween"),
            new Sense(
                    "invest",
                    R,
                    "put money you need into a gamble",
                    "can cost everything",
                    "kind:kind of money",
                    "everything in one coin"),
            new Sense(
                    "invest", H, "spend it on something that lasts", "is worth it", "time", "effort", "an hour a day"),
            new Sense(
                    "gamble", R, "bet money on chance", "can cost everything", "kind:kind of money", "money you need"),
            new Sense(
                    "bet",
                    R,
                    "risk money on a result",
                    "can leave you with nothing",
                    "kind:kind of money",
                    "everything"),
            new Sense("borrow", R, "take a loan to gamble", "leads to debt", "money for a bet", "money to gamble"),
            new Sense(
                    "borrow",
                    H,
                    "use it and give it back",
                    "is ordinary",
                    "a book",
                    "a ladder",
                    "a cup of sugar",
                    "an umbrella"),
            new Sense("put", R, "risk it on one gamble", "can leave a family with nothing", "kind:kind of money"),
            new Sense("pay", C, "pay to get something unfair", "is corruption", "voters", "a judge", "an official"),
            new Sense("pay", H, "pay what you owe", "is honest", "a bill", "the rent", "a fair wage"),
            new Sense(
                    "protect",
                    H,
                    "keep safe",
                    "is kind",
                    "kind:person",
                    "kind:child",
                    "kind:animal",
                    "kind:device",
                    "kind:account"),
            new Sense("help", H, "make things easier for someone", "is kind", "kind:person", "kind:animal"),
            new Sense("thank", H, "show gratitude", "is polite", "kind:person"),
            new Sense("feed", H, "give food", "keeps it healthy", "kind:animal", "a baby", "a plant"),
            new Sense("visit", H, "go to see", "is friendly", "kind:person", "kind:place"),
            new Sense(
                    "report",
                    H,
                    "tell the people in charge",
                    "protects others",
                    "kind:lie",
                    "a scam",
                    "a broken streetlight",
                    "a crime"),
            new Sense("spot", H, "notice it", "protects people", "kind:lie", "a scam", "a typo", "a rare bird"),
            new Sense("block", H, "keep it out", "keeps a device quiet", "spam", "pop-ups", "a nuisance caller"),
            new Sense("remove", H, "take it away", "protects a device", "kind:harmful program", "a stain", "old files"),
            new Sense("clean", H, "make it clean", "is a chore", "kind:room", "kind:device", "kind:vehicle"),
            new Sense(
                    "treat",
                    H,
                    "care for an injury or illness",
                    "helps it heal",
                    "a burn",
                    "a rash",
                    "a sting",
                    "a cut",
                    "a cold"),
            new Sense(
                    "get rid of",
                    H,
                    "remove something unwanted",
                    "hurts nobody",
                    "kind:insect",
                    "kind:fungus",
                    "a weed",
                    "clutter",
                    "a cough"),
            new Sense(
                    "take photos of",
                    C,
                    "photograph someone in secret",
                    "violates privacy",
                    "strangers in secret",
                    "people undressing"),
            new Sense(
                    "take photos of",
                    H,
                    "photograph with a camera",
                    "makes a nice memory",
                    "kind:place",
                    "kind:animal",
                    "a sunset",
                    "a birthday party"),
            new Sense("teach", H, "show how something is done", "is kind", "kind:person", "a class"));

    /** How each kind of sense is judged, the same words for all its senses. */
    private static final Map<Effect, List<String>> VERDICTS = Map.of(
            Effect.HARMLESS,
            List.of(
                    "is ordinary",
                    "hurts nobody",
                    "is harmless",
                    "is a normal thing to do",
                    "is often useful",
                    "is safe"),
            Effect.CRIME,
            List.of(
                    "is wrong",
                    "is a crime",
                    "harms other people",
                    "is against the law",
                    "can ruin someone's life",
                    "puts people in danger"),
            Effect.RISK,
            List.of(
                    "is risky",
                    "can cost you everything",
                    "is a gamble with money you need",
                    "is unwise",
                    "can leave a family with nothing"));

    /** How a story about the act ends. */
    private static final Map<Effect, List<String>> ENDINGS = Map.of(
            Effect.HARMLESS,
            List.of("yesterday", "on Sunday", "in a few minutes", "before dinner", "and nobody minded", "last week"),
            Effect.CRIME,
            List.of(
                    "and was arrested",
                    "and went to prison",
                    "and the police came",
                    "and a court punished them",
                    "and everyone was shocked"),
            Effect.RISK,
            List.of("and lost everything", "and regretted it", "and could not pay the rent", "and the money was gone"));

    /** Sentence forms for one act ({@code {V}} a verb form, {@code {O}} the object, {@code {S}} a person). */
    private static final List<String> ACT_FORMS = List.of(
            "To {V} {O} means to {M}.",
            "{Ving} {O} {R}.",
            "{S} {Ved} {O} {END}.",
            "When someone {Vs} {O}, it {R}.",
            "{Ving} {O} {VERDICT}.",
            "{S} said that {ving} {O} {VERDICT}.",
            "{MODAL}",
            "{PHRASE}");

    private static final Map<Effect, List<String>> MODALS = Map.of(
            Effect.HARMLESS,
            List.of("Anyone can {V} {O}.", "It is fine to {V} {O}.", "There is nothing wrong with {ving} {O}."),
            Effect.CRIME,
            List.of("Nobody should {V} {O}.", "It is a crime to {V} {O}.", "There is no excuse for {ving} {O}."),
            Effect.RISK,
            List.of("It is risky to {V} {O}.", "Nobody should {V} {O}.", "There is a big risk in {ving} {O}."));

    /** Sentence forms for one noun ({@code {N}} with its article, {@code {n}} bare, {@code {K}} its kind). */
    private static final List<String> NOUN_FORMS = List.of(
            "{N} is one kind of {K}.",
            "{N}, like every {K}, {P}.",
            "{N} is {K_A}, so the {n} {P}.",
            "The {n} {P}.",
            "My {n} {P}.",
            "Everyone knows that {N_low} is {K_A}.");

    /** How many sentence forms each act and each noun is written in (drawn by the corpus's fixed seed). */
    static final int FORMS_PER_ACT = 4;

    static final int FORMS_PER_NOUN = 4;

    /** The corpus's own seed: the corpus is the same for every base seed. */
    private static final long CORPUS_SEED = 31;

    /** Words that carry no action: left out when a held-out action's words are matched. */
    private static final Set<String> STOP_WORDS = Set.of(
            "a", "an", "the", "my", "your", "his", "her", "their", "our", "its", "to", "of", "in", "on", "at", "for",
            "from", "with", "without", "into", "up", "down", "away", "out", "and", "or", "that", "this", "so", "s",
            "someone", "one", "me", "i", "it", "them", "they", "him", "nobody", "can", "be", "is", "by", "about",
            "over", "off", "all", "which", "where", "who", "every", "some", "as", "rid", "get", "make", "how");

    /**
     * The generated corpus: for every noun of {@link #KINDS} {@link #FORMS_PER_NOUN} sentences saying what it is and
     * what its kind is like, for every act (a verb sense and one of its objects) {@link #FORMS_PER_ACT} sentences saying
     * what it means, what it does, how it ends and whether it harms someone, and for every verb with a harmful and a
     * harmless sense sentences contrasting the two. Decontaminated: no sentence mentions a held-out action's verb
     * together with any other word of that action ({@link #mentionsAction}), so no held-out request, in any phrasing
     * and with any judgement of it, is in the corpus.
     */
    static List<String> corpus() {
        Random random = new Random(CORPUS_SEED);
        List<String> people = nouns("person");
        Set<String> out = new LinkedHashSet<>();
        for (Kind kind : KINDS) {
            List<String> properties = PROPERTIES.get(kind.kind());
            for (String noun : kind.nouns()) {
                List<String> forms = new ArrayList<>(NOUN_FORMS);
                Collections.shuffle(forms, random);
                for (String form : forms.subList(0, FORMS_PER_NOUN)) {
                    String np = nounPhrase(noun);
                    out.add(capitalise(form.replace("{N_low}", np)
                            .replace("{N}", np)
                            .replace("{n}", noun)
                            .replace("{K_A}", article(kind.kind(), false) + kind.kind())
                            .replace("{K}", kind.kind())
                            .replace("{P}", properties.get(random.nextInt(properties.size())))));
                }
            }
        }
        Map<String, List<Sense>> byVerb = new LinkedHashMap<>();
        for (Sense sense : SENSES) {
            byVerb.computeIfAbsent(sense.verb().base(), v -> new ArrayList<>()).add(sense);
            for (String object : objects(sense)) {
                List<String> forms = new ArrayList<>(ACT_FORMS);
                Collections.shuffle(forms, random);
                for (String form : forms.subList(0, FORMS_PER_ACT)) {
                    out.add(act(form, sense, object, people, random));
                }
            }
        }
        // Contrasts: the same verb doing harm to one object and none to another.
        for (List<Sense> senses : byVerb.values()) {
            for (Sense harmful : senses) {
                if (harmful.effect() == Effect.HARMLESS) {
                    continue;
                }
                for (Sense harmless : senses) {
                    if (harmless.effect() != Effect.HARMLESS) {
                        continue;
                    }
                    List<String> bad = objects(harmful);
                    List<String> good = objects(harmless);
                    for (int i = 0; i < Math.max(bad.size(), good.size()); i++) {
                        String b = bad.get(i % bad.size());
                        String g = good.get(i % good.size());
                        Verb v = harmful.verb();
                        out.add(
                                i % 2 == 0
                                        ? capitalise(
                                                v.ing() + " " + g + " " + pick(VERDICTS.get(Effect.HARMLESS), random)
                                                        + ", but " + v.ing() + " " + b + " "
                                                        + pick(VERDICTS.get(harmful.effect()), random)
                                                        + ".")
                                        : "To " + v.base() + " " + g + " means to " + harmless.meaning() + "; to "
                                                + v.base() + " " + b + " means to " + harmful.meaning() + ".");
                    }
                }
            }
        }
        List<Probe> probes = DemoData.heldOutActions().stream().map(Probe::of).toList();
        return out.stream()
                .filter(sentence -> {
                    List<String> words = words(sentence);
                    return probes.stream().noneMatch(probe -> probe.matches(words));
                })
                .toList();
    }

    private static String act(String form, Sense sense, String object, List<String> people, Random random) {
        Verb v = sense.verb();
        String text = form.replace("{MODAL}", pick(MODALS.get(sense.effect()), random))
                .replace("{PHRASE}", "{S} knows that to {V} {O} is to {M}.");
        String person = pick(people, random);
        String subject = pick(List.of(article(person, true), "The ", "One "), random) + person;
        return capitalise(text.replace("{Ving}", v.ing())
                .replace("{ving}", v.ing())
                .replace("{Ved}", v.past())
                .replace("{Vs}", v.third())
                .replace("{V}", v.base())
                .replace("{O}", object)
                .replace("{M}", sense.meaning())
                .replace("{R}", sense.result())
                .replace("{END}", pick(ENDINGS.get(sense.effect()), random))
                .replace("{VERDICT}", pick(VERDICTS.get(sense.effect()), random))
                .replace("{S}", subject));
    }

    private static List<String> objects(Sense sense) {
        List<String> out = new ArrayList<>();
        for (String object : sense.objects()) {
            if (object.startsWith("kind:")) {
                nouns(object.substring(5)).forEach(noun -> out.add(nounPhrase(noun)));
            } else {
                out.add(object);
            }
        }
        return out;
    }

    private static List<String> nouns(String kind) {
        return KINDS.stream()
                .filter(k -> k.kind().equals(kind))
                .flatMap(k -> k.nouns().stream())
                .toList();
    }

    private static String nounPhrase(String noun) {
        return MASS_NOUNS.contains(noun) ? noun : article(noun, false) + noun;
    }

    private static String pick(List<String> options, Random random) {
        return options.get(random.nextInt(options.size()));
    }

    private static String capitalise(String text) {
        return Character.toUpperCase(text.charAt(0)) + text.substring(1);
    }

    /**
     * Whether {@code sentence} mentions {@code action}: a form of the action's verb (its first word) together with any
     * other word of it that carries meaning. Deliberately broad, so that no phrasing or judgement of a held-out action
     * slips through ("Beating up a roommate is wrong." mentions "beat up my roommate").
     */
    static boolean mentionsAction(String sentence, String action) {
        return Probe.of(action).matches(words(sentence));
    }

    /** A held-out action as {@link #mentionsAction} matches it: its verb's forms and the stems of its other words. */
    private record Probe(Set<String> forms, List<String> stems) {
        static Probe of(String action) {
            List<String> words = words(action);
            List<String> stems = words.subList(1, words.size()).stream()
                    .filter(word -> !STOP_WORDS.contains(word))
                    .map(DemoKnowledge::stem)
                    .toList();
            return new Probe(Verb.of(words.getFirst()).headForms(), stems);
        }

        boolean matches(List<String> words) {
            if (words.stream().noneMatch(forms::contains)) {
                return false;
            }
            return stems.stream()
                    .anyMatch(stem -> words.stream()
                            .anyMatch(w -> stem(w).equals(stem) || (stem.length() >= 4 && w.startsWith(stem))));
        }
    }

    private static List<String> words(String text) {
        return Arrays.stream(text.toLowerCase(Locale.ROOT).split("[^a-z]+"))
                .filter(w -> !w.isEmpty())
                .toList();
    }

    private static String stem(String word) {
        return switch (word) {
            case "children" -> "child";
            case "people" -> "person";
            case "men" -> "man";
            case "women" -> "woman";
            case "wives" -> "wife";
            default ->
                word.endsWith("ies")
                        ? word.substring(0, word.length() - 3) + "y"
                        : word.endsWith("s") && !word.endsWith("ss") && word.length() > 3
                                ? word.substring(0, word.length() - 1)
                                : word;
        };
    }

    private static String article(String word, boolean capital) {
        // "a USB stick": an initial U read as "you" takes "a".
        boolean vowel = "aeiou".indexOf(Character.toLowerCase(word.charAt(0))) >= 0 && !word.startsWith("US");
        return (capital ? (vowel ? "An " : "A ") : (vowel ? "an " : "a "));
    }
}
