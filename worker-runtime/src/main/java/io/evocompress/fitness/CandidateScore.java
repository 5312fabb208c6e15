package io.evocompress.fitness;

import java.io.Serializable;

/**
 * One candidate's fitness on one minibatch, with what it was computed from.
 *
 * @param fitness   the value the search minimises: mean KL per position (kl, topk-kl) or perplexity (ppl)
 * @param sum       KL summed over positions, or NLL summed over positions for ppl
 * @param positions positions scored (the last token of each sequence predicts nothing)
 * @param timing    stitching, forward and metric time
 */
public record CandidateScore(double fitness, double sum, long positions, FitnessTiming timing) implements Serializable {
}
