package io.evocompress.search;

/** A genome with its fitness on one minibatch (lower is better). */
public record ScoredGenome(Genome genome, double fitness) {
}
