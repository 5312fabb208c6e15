package io.evocompress.search;

import java.util.List;

/**
 * A finished search: the winning genome, its fitness on the last generation's final-stage minibatch
 * (a selection score; the job re-scores the winner on held-out data), and the fitness per generation.
 */
public record SearchResult(Genome best, double fitness, List<GenerationFitness> history) {
    public SearchResult {
        history = List.copyOf(history);
    }

    static SearchResult of(SearchState state) {
        return new SearchResult(state.parent(), state.parentFitness(), state.history());
    }
}
