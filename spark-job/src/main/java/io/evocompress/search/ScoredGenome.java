package io.evocompress.search;

/** A genome with its fitness on one minibatch (lower is better). */
public record ScoredGenome(Genome genome, double fitness) {
    /** Scores {@code genomes} on one minibatch and keeps the lowest (the earlier one on a tie). */
    public static ScoredGenome best(CandidateEvaluator evaluator, java.util.List<Genome> genomes, Minibatch batch) {
        double[] scores = evaluator.evaluate(java.util.List.copyOf(genomes), batch);
        int best = 0;
        for (int i = 1; i < scores.length; i++) {
            if (Double.compare(scores[i], scores[best]) < 0) {
                best = i;
            }
        }
        return new ScoredGenome(genomes.get(best), scores[best]);
    }
}
