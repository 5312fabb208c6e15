package io.evocompress.search;

/** Told after every generation (and after the initial genome, as generation 0). */
@FunctionalInterface
public interface SearchProgress {
    SearchProgress NONE = report -> { };

    void onGeneration(Report report);

    /**
     * Told once, before generation 0's report, when the search chose its start among candidates
     * ({@code search.init: best}): each candidate and its fitness on the initial minibatch of {@code tokens}.
     */
    default void onStart(java.util.List<StartCandidate> candidates, double[] fitness, long tokens) {
    }

    /**
     * @param generation          the generation just finished
     * @param generations         the generation the search ends at
     * @param bestFitness         the parent's fitness after it
     * @param candidatesPerSecond candidate scores (all stages) per second since this run (re)started
     * @param secondsLeft         estimated from the mean time per generation so far in this run
     */
    record Report(int generation, int generations, double bestFitness, double candidatesPerSecond, double secondsLeft) {
    }
}
