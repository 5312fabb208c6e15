package io.evocompress.search;

import io.evocompress.EvocompressException;

import java.util.List;

/**
 * The search's settings, with the presets of ALGORITHMS.md section 3. Every field can be replaced
 * with a {@code with...} copy.
 *
 * @param generations       generations after the initial genome
 * @param offspring         offspring made per generation
 * @param stages            the multi-step selection
 * @param initialCandidates random genomes the start is the best of, where the domain has no fixed start
 * @param initialTokens     tokens those (and a fixed start) are scored on
 */
public record SearchPreset(int generations, int offspring, List<SelectionStage> stages, int initialCandidates, long initialTokens) {
    public static final int DEFAULT_INITIAL_CANDIDATES = 64;
    public static final long DEFAULT_INITIAL_TOKENS = 2048;

    public SearchPreset {
        if (generations < 0) {
            throw new EvocompressException("generations must be >= 0, but was " + generations);
        }
        if (offspring < 1) {
            throw new EvocompressException("offspring per generation must be >= 1, but was " + offspring);
        }
        if (initialCandidates < 1) {
            throw new EvocompressException("initial candidates must be >= 1, but was " + initialCandidates);
        }
        if (initialTokens < 1) {
            throw new EvocompressException("initial tokens must be >= 1, but was " + initialTokens);
        }
        stages = List.copyOf(stages);
    }

    private static SearchPreset of(int generations, int offspring, String stages) {
        return new SearchPreset(generations, offspring, SelectionStage.parseList(stages), DEFAULT_INITIAL_CANDIDATES, DEFAULT_INITIAL_TOKENS);
    }

    /** Unstructured sparsity: 400 generations, 64 offspring, 8@2048, 2@16384, 1@65536. */
    public static SearchPreset sparsity() {
        return of(400, 64, "8@2048,2@16384,1@65536");
    }

    /** Quantization: 150 generations, 128 offspring, 16@2048, 4@16384, 1@131072. */
    public static SearchPreset quantization() {
        return of(150, 128, "16@2048,4@16384,1@131072");
    }

    /** Depth with k of n dropped: ceil(k(n-k)/1.5) generations (at least 1), 32 offspring, 2@2048, 1@32768. */
    public static SearchPreset depth(int blocks, int dropped) {
        return of(Math.max(1, (int) Math.ceil(dropped * (blocks - dropped) / 1.5)), 32, "2@2048,1@32768");
    }

    /** Fast: 400 generations, 16 offspring, 1@512, 1@8192. */
    public static SearchPreset fast() {
        return of(400, 16, "1@512,1@8192");
    }

    /** The preset called {@code name} (sparsity, quantization, depth, fast) for a domain; depth needs a {@link DepthDomain}. */
    public static SearchPreset named(String name, SearchDomain domain) {
        return switch (name) {
            case "sparsity" -> sparsity();
            case "quantization" -> quantization();
            case "fast" -> fast();
            case "depth" -> {
                if (!(domain instanceof DepthDomain d)) {
                    throw new EvocompressException("preset 'depth' needs a depth domain, but the search is over a " + domain);
                }
                yield depth(d.blocks(), d.dropped());
            }
            default -> throw new EvocompressException("unknown search preset '" + name + "': use sparsity, quantization, depth or fast");
        };
    }

    public SearchPreset withGenerations(int value) {
        return new SearchPreset(value, offspring, stages, initialCandidates, initialTokens);
    }

    public SearchPreset withOffspring(int value) {
        return new SearchPreset(generations, value, stages, initialCandidates, initialTokens);
    }

    public SearchPreset withStages(List<SelectionStage> value) {
        return new SearchPreset(generations, offspring, value, initialCandidates, initialTokens);
    }

    public SearchPreset withInitial(int candidates, long tokens) {
        return new SearchPreset(generations, offspring, stages, candidates, tokens);
    }
}
