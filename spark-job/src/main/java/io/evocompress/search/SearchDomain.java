package io.evocompress.search;

import io.evocompress.EvocompressException;
import io.evocompress.fitness.GenomeDecoder;

import java.util.Optional;
import java.util.random.RandomGenerator;

/**
 * What the search searches over (ALGORITHMS.md section 3): the ordered units of a genome, the legal
 * levels of each, where the search starts, and the one budget-preserving switch the mutation is made
 * of. Every genome a domain hands out is within its budget, and {@link #mutate} keeps it there
 * exactly (total zeros, total bits, number of dropped block halves).
 */
public interface SearchDomain {

    /** Number of units (genome length). */
    int units();

    /** The unit's module name as it appears in a profile, e.g. {@code model.layers.3.mlp.down_proj}. */
    String unitName(int unit);

    /** The legal levels of a unit, ascending. */
    int[] levels(int unit);

    /**
     * The genome the search starts from (the uniform assignment), or empty when the domain starts from
     * the best of several {@link #random} genomes (ALGORITHMS.md: non-integer bit targets, depth).
     */
    Optional<Genome> fixedStart();

    /**
     * The serializable decoder executors turn this domain's genomes with (unit i -> the layer named
     * {@link #unitName}(i) at the genome's level, unless the domain says otherwise): what a unit means
     * is defined here, once, for the engine and the evaluator.
     */
    default GenomeDecoder decoder() {
        return GenomeDecoder.levels(java.util.stream.IntStream.range(0, units()).mapToObj(this::unitName).toList());
    }

    /** A random legal genome within the budget. */
    Genome random(RandomGenerator random);

    /**
     * One switch: one unit up one level and another down one, in the way the domain keeps its budget.
     * Returns {@code genome} itself when no switch exists (a one-unit domain, nothing dropped).
     */
    Genome mutate(Genome genome, RandomGenerator random);

    /** Whether the genome has this domain's length, legal levels, and keeps the budget. */
    boolean withinBudget(Genome genome);

    /** Throws a user-facing error when the genome is not a legal, within-budget genome of this domain. */
    default void checkBudget(Genome genome, String what) {
        if (!withinBudget(genome)) {
            throw new EvocompressException(what + " " + genome + " is not a legal genome of " + this
                + " (wrong length, an illegal level, or over the budget): it belongs to another search setting.");
        }
    }

    /** The genome as {@code module: level} lines (see {@link Profile}). */
    default String profile(Genome genome) {
        return Profile.format(this, genome);
    }

    /** A random walk of 4 switches per unit from {@code start}: a random genome that keeps the budget. */
    default Genome randomWalk(Genome start, RandomGenerator random) {
        Genome g = start;
        for (int i = 0; i < 4 * units(); i++) {
            g = mutate(g, random);
        }
        return g;
    }
}
