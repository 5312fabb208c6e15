package io.evocompress.candidates;

/**
 * One candidate to evaluate, as shipped to an executor: its position in the evaluate() call and its
 * genome's levels (the executor decodes them with the evaluator's GenomeDecoder).
 */
public record CandidateTask(int index, int[] levels) {
    public CandidateTask {
        levels = levels.clone();
    }
}
