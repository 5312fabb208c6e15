package io.evocompress.search;

import java.util.ArrayList;
import java.util.List;

/**
 * Everything a search needs to go on after a generation: no random state, since every random choice
 * is seeded from (seed, generation, purpose).
 *
 * @param seed          the run's seed, checked on resume
 * @param generation    the last finished generation (0: the initial genome)
 * @param parent        the parent after it
 * @param parentFitness its fitness on that generation's final-stage minibatch
 * @param history       one entry per finished generation, 0 first
 */
public record SearchState(long seed, int generation, Genome parent, double parentFitness, List<GenerationFitness> history) {
    public SearchState {
        history = List.copyOf(history);
    }

    /** The state after one more generation. */
    public SearchState next(Genome winner, double fitness) {
        List<GenerationFitness> h = new ArrayList<>(history);
        h.add(new GenerationFitness(generation + 1, fitness, winner));
        return new SearchState(seed, generation + 1, winner, fitness, h);
    }
}
