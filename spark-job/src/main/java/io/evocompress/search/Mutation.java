package io.evocompress.search;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.random.RandomGenerator;

/**
 * Offspring by level switches (ALGORITHMS.md section 3): each offspring is its parent after
 * min(U{1,3}, U{1,3}) switches (1, 2, 3 with probabilities 5/9, 3/9, 1/9). An offspring equal to the
 * parent or to one already made this generation is discarded and redrawn. In a space too small to
 * hold {@code count} new genomes the redrawing stops after {@value #TRIES_PER_OFFSPRING} draws per
 * requested offspring and the generation goes on with the distinct offspring found (possibly none).
 */
public final class Mutation {
    static final int TRIES_PER_OFFSPRING = 50;

    private final SearchDomain domain;

    public Mutation(SearchDomain domain) {
        this.domain = domain;
    }

    /** min(U{1,3}, U{1,3}). */
    public static int switchCount(RandomGenerator random) {
        return Math.min(1 + random.nextInt(3), 1 + random.nextInt(3));
    }

    /** The parent after {@link #switchCount} switches. */
    public Genome mutate(Genome parent, RandomGenerator random) {
        Genome g = parent;
        for (int n = switchCount(random); n > 0; n--) {
            g = domain.mutate(g, random);
        }
        return g;
    }

    /** Up to {@code count} distinct offspring, none equal to the parent, in the order drawn. */
    public List<Genome> offspring(Genome parent, int count, RandomGenerator random) {
        Set<Genome> made = new LinkedHashSet<>();
        for (long tries = 0; made.size() < count && tries < (long) TRIES_PER_OFFSPRING * count; tries++) {
            Genome child = mutate(parent, random);
            if (!child.equals(parent)) {
                made.add(child);
            }
        }
        return List.copyOf(made);
    }
}
