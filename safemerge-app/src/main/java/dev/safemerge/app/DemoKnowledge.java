package dev.safemerge.app;

import java.util.ArrayList;
import java.util.List;
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
                            "player")),
            new Kind("child", List.of("kid", "baby", "teenager", "minor", "student at a primary school")),
            new Kind("animal", List.of("dog", "cat", "bird", "bee", "horse", "fish")),
            new Kind("insect", List.of("ant", "fruit fly", "wasp", "bee", "mosquito")),
            new Kind("plant", List.of("weed", "basil", "flower", "tree", "melon", "watermelon", "avocado")),
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
                            "terminal")),
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
                            "slot machine")),
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
                            "watch")),
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
                            "debt")),
            new Kind(
                    "risky bet",
                    List.of(
                            "crypto coin",
                            "single stock",
                            "options trade",
                            "lottery ticket",
                            "slot machine",
                            "meme coin")),
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
            new Kind("adult thing", List.of("sex scene", "sex story", "porn site", "nude photo", "explicit deepfake")));

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

    private static String article(String word, boolean capital) {
        boolean vowel = "aeiou".indexOf(Character.toLowerCase(word.charAt(0))) >= 0;
        return (capital ? (vowel ? "An " : "A ") : (vowel ? "an " : "a "));
    }
}
