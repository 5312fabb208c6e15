package io.evocompress.search;

import java.util.ArrayList;
import java.util.List;
import java.util.random.RandomGenerator;

/**
 * The best of N random legal genomes ({@link SearchDomain#random}), all scored in one evaluator call
 * on one minibatch; ties go to the earlier draw. Also the start of domains without a fixed one.
 */
public final class RandomSearchBaseline {
    private final SearchDomain domain;
    private final int candidates;

    public RandomSearchBaseline(SearchDomain domain, int candidates) {
        if (candidates < 1) {
            throw new IllegalArgumentException("random search needs at least 1 candidate, but was asked for " + candidates);
        }
        this.domain = domain;
        this.candidates = candidates;
    }

    public ScoredGenome best(CandidateEvaluator evaluator, Minibatch batch, RandomGenerator random) {
        List<Genome> genomes = new ArrayList<>();
        for (int i = 0; i < candidates; i++) {
            genomes.add(domain.random(random));
        }
        return ScoredGenome.best(evaluator, genomes, batch);
    }

    /** On a minibatch of {@code tokens} drawn from the pool, everything seeded from {@code seed}. */
    public ScoredGenome best(CandidateEvaluator evaluator, CalibrationPool pool, long tokens, long seed) {
        RandomGenerator random = SearchRandom.of(seed, 0, SearchRandom.Purpose.INITIAL, 1);
        Minibatch batch = pool.draw(tokens, random);
        return best(evaluator, batch, random);
    }
}
