package io.evocompress.demo;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * A seeded, generated language for the no-download demo: a small probabilistic grammar whose text a
 * small transformer learns well (perplexity far below the vocabulary size and the unigram baseline)
 * but not trivially. The seed fixes the lexicon (pseudo-words built from syllables); documents are
 * drawn from a separate seed, so training and held-out text share the language but not the sentences.
 *
 * <p>Structure a model must learn, from local to long-range:
 * <ul>
 *   <li>word classes and phrase order: determiner, optional adjective, noun; verb, object, optional
 *       prepositional phrase, adverb; sentences end with {@code .};</li>
 *   <li>number agreement: singular and plural determiners and nouns ({@code -s}), verbs agreeing with
 *       their subject ({@code -s} on singular), also across a relative clause
 *       ({@code the X that the Ys chase runs});</li>
 *   <li>topics: each document picks one of six topics and draws 85% of its nouns, verbs and
 *       adjectives from that topic's lexicon;</li>
 *   <li>a protagonist: each document opens with a name, uses it as a subject again, and ends with
 *       {@code so NAME ...} (a copy from the start of the line).</li>
 * </ul>
 * One document is one line of space-separated words (punctuation as its own word).
 */
public final class GeneratedLanguage {
    static final int TOPICS = 6;
    private static final int NOUNS_PER_TOPIC = 10;
    private static final int VERBS_PER_TOPIC = 6;
    private static final int ADJECTIVES_PER_TOPIC = 5;
    private static final int NAMES = 12;
    private static final double ON_TOPIC = 0.85;

    private static final List<String> DET_SINGULAR = List.of("a", "the", "every", "this");
    private static final List<String> DET_PLURAL = List.of("the", "some", "many", "these", "two");
    private static final List<String> PREPOSITIONS = List.of("with", "near", "under", "behind", "for");
    private static final List<String> ADVERBS = List.of("often", "never", "quickly", "again");
    private static final List<String> FUNCTION = List.of("that", "and", "because", "so", ".", ",");

    private final List<List<String>> nouns = new ArrayList<>();      // per topic: singular stems
    private final List<List<String>> verbs = new ArrayList<>();      // per topic: plural (bare) forms
    private final List<List<String>> adjectives = new ArrayList<>(); // per topic
    private final List<String> names = new ArrayList<>();
    private final List<String> vocabulary;

    /** The language of {@code seed}: its lexicon. */
    public GeneratedLanguage(long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        Set<String> used = new LinkedHashSet<>();
        used.addAll(DET_SINGULAR);
        used.addAll(DET_PLURAL);
        used.addAll(PREPOSITIONS);
        used.addAll(ADVERBS);
        used.addAll(FUNCTION);
        for (int t = 0; t < TOPICS; t++) {
            nouns.add(words(random, used, NOUNS_PER_TOPIC, true));
            verbs.add(words(random, used, VERBS_PER_TOPIC, true));
            adjectives.add(words(random, used, ADJECTIVES_PER_TOPIC, false));
        }
        for (String n : words(random, used, NAMES, false)) {
            names.add(Character.toUpperCase(n.charAt(0)) + n.substring(1));
        }
        vocabulary = buildVocabulary();
    }

    /** Every word the grammar can produce, in a fixed order. */
    public List<String> vocabulary() {
        return vocabulary;
    }

    /** {@code count} documents drawn from {@code seed}: one line each, words separated by single spaces. */
    public List<String> documents(int count, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        List<String> out = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            out.add(document(random));
        }
        return out;
    }

    private String document(SplittableRandom r) {
        int topic = r.nextInt(TOPICS);
        String hero = pick(r, names);
        List<String> w = new ArrayList<>();
        // opening: the protagonist does something
        w.add(hero);
        verbPhrase(r, topic, false, w);
        w.add(".");
        int sentences = 2 + r.nextInt(5);
        for (int s = 0; s < sentences; s++) {
            clause(r, topic, hero, w);
            if (r.nextDouble() < 0.25) {
                w.add(r.nextBoolean() ? "because" : "and");
                clause(r, topic, hero, w);
            }
            w.add(".");
        }
        // closing: a copy of the protagonist from the opening
        w.add("so");
        w.add(hero);
        verbPhrase(r, topic, false, w);
        w.add(".");
        return String.join(" ", w);
    }

    private void clause(SplittableRandom r, int topic, String hero, List<String> w) {
        boolean plural;
        if (r.nextDouble() < 0.25) {
            w.add(hero);
            plural = false;
        } else {
            plural = r.nextBoolean();
            nounPhrase(r, topic, plural, w);
            if (r.nextDouble() < 0.3) {
                relativeClause(r, topic, plural, w);
            }
        }
        verbPhrase(r, topic, plural, w);
    }

    /** "that" + verb agreeing with the head noun + object, or "that" + another subject + its verb. */
    private void relativeClause(SplittableRandom r, int topic, boolean headPlural, List<String> w) {
        w.add("that");
        if (r.nextBoolean()) {
            w.add(verb(r, topic, headPlural));
            nounPhrase(r, topic, r.nextBoolean(), w);
        } else {
            boolean plural = r.nextBoolean();
            nounPhrase(r, topic, plural, w);
            w.add(verb(r, topic, plural));
        }
    }

    private void verbPhrase(SplittableRandom r, int topic, boolean subjectPlural, List<String> w) {
        w.add(verb(r, topic, subjectPlural));
        if (r.nextDouble() < 0.2) {
            w.add(pick(r, ADVERBS));
            return;
        }
        nounPhrase(r, topic, r.nextBoolean(), w);
        if (r.nextDouble() < 0.3) {
            w.add(pick(r, PREPOSITIONS));
            nounPhrase(r, topic, r.nextBoolean(), w);
        }
    }

    private void nounPhrase(SplittableRandom r, int topic, boolean plural, List<String> w) {
        w.add(pick(r, plural ? DET_PLURAL : DET_SINGULAR));
        if (r.nextDouble() < 0.35) {
            w.add(pick(r, adjectives.get(topicOf(r, topic))));
        }
        String stem = pick(r, nouns.get(topicOf(r, topic)));
        w.add(plural ? stem + "s" : stem);
    }

    private String verb(SplittableRandom r, int topic, boolean subjectPlural) {
        String bare = pick(r, verbs.get(topicOf(r, topic)));
        return subjectPlural ? bare : bare + "s";
    }

    private static int topicOf(SplittableRandom r, int topic) {
        return r.nextDouble() < ON_TOPIC ? topic : r.nextInt(TOPICS);
    }

    private static <T> T pick(SplittableRandom r, List<T> items) {
        return items.get(r.nextInt(items.size()));
    }

    private List<String> buildVocabulary() {
        Set<String> v = new LinkedHashSet<>();
        v.addAll(FUNCTION);
        v.addAll(DET_SINGULAR);
        v.addAll(DET_PLURAL);
        v.addAll(PREPOSITIONS);
        v.addAll(ADVERBS);
        v.addAll(names);
        for (int t = 0; t < TOPICS; t++) {
            for (String n : nouns.get(t)) {
                v.add(n);
                v.add(n + "s");
            }
            for (String b : verbs.get(t)) {
                v.add(b);
                v.add(b + "s");
            }
            v.addAll(adjectives.get(t));
        }
        return Collections.unmodifiableList(new ArrayList<>(v));
    }

    /**
     * {@code count} new pseudo-words of 2 or 3 consonant-vowel syllables; with {@code inflected}, the
     * word plus "s" must be new too (plural nouns, singular verbs stay unambiguous).
     */
    private static List<String> words(SplittableRandom r, Set<String> used, int count, boolean inflected) {
        final String consonants = "bdfgklmnprtvz";
        final String vowels = "aeiou";
        List<String> out = new ArrayList<>();
        while (out.size() < count) {
            StringBuilder sb = new StringBuilder();
            int syllables = 2 + r.nextInt(2);
            for (int i = 0; i < syllables; i++) {
                sb.append(consonants.charAt(r.nextInt(consonants.length())));
                sb.append(vowels.charAt(r.nextInt(vowels.length())));
            }
            String word = sb.toString();
            if (used.contains(word) || used.contains(word + "s") || (word.endsWith("s"))) {
                continue;
            }
            used.add(word);
            if (inflected) {
                used.add(word + "s");
            }
            out.add(word);
        }
        return out;
    }
}
