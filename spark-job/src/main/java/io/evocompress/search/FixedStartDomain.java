package io.evocompress.search;

import java.util.Optional;
import java.util.random.RandomGenerator;

/**
 * A domain that starts the search from a given genome (e.g. the layer-wise scheduler's profile,
 * {@code init: scheduler}) instead of its own start; everything else is the wrapped domain's.
 */
public final class FixedStartDomain implements SearchDomain {
    private final SearchDomain domain;
    private final Genome start;

    public FixedStartDomain(SearchDomain domain, Genome start) {
        domain.checkBudget(start, "The starting genome");
        this.domain = domain;
        this.start = start;
    }

    @Override
    public int units() {
        return domain.units();
    }

    @Override
    public String unitName(int unit) {
        return domain.unitName(unit);
    }

    @Override
    public int[] levels(int unit) {
        return domain.levels(unit);
    }

    @Override
    public Optional<Genome> fixedStart() {
        return Optional.of(start);
    }

    @Override
    public Genome random(RandomGenerator random) {
        return domain.random(random);
    }

    @Override
    public Genome mutate(Genome genome, RandomGenerator random) {
        return domain.mutate(genome, random);
    }

    @Override
    public boolean withinBudget(Genome genome) {
        return domain.withinBudget(genome);
    }

    @Override
    public io.evocompress.fitness.GenomeDecoder decoder() {
        return domain.decoder();
    }

    @Override
    public String toString() {
        return domain + " starting from " + start;
    }
}
