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

    /**
     * The search's shortlist: the winner and then the parents it replaced, latest first, each distinct genome once, at
     * most {@code k}, with the fitness each had when it was last the parent (on that generation's final-stage minibatch, so
     * not comparable across entries). Parents a history read from an old checkpoint did not record are skipped.
     */
    public List<ScoredGenome> finalists(int k) {
        return finalists(k, null);
    }

    /**
     * As {@link #finalists(int)}, without {@code baseline} (a start the caller measures anyway, e.g. the uniform profile)
     * unless it is the winner; the parents before it still count.
     */
    public List<ScoredGenome> finalists(int k, Genome baseline) {
        if (k < 1) {
            throw new IllegalArgumentException("finalists: k must be at least 1, got " + k);
        }
        java.util.LinkedHashMap<Genome, Double> out = new java.util.LinkedHashMap<>();
        out.put(best, fitness);
        for (int i = history.size() - 1; i >= 0 && out.size() < k; i--) {
            Genome parent = history.get(i).parent();
            if (parent != null && !parent.equals(baseline)) {
                out.putIfAbsent(parent, history.get(i).fitness());
            }
        }
        return out.entrySet().stream().map(e -> new ScoredGenome(e.getKey(), e.getValue())).toList();
    }

    static SearchResult of(SearchState state) {
        return new SearchResult(state.parent(), state.parentFitness(), state.history());
    }
}
