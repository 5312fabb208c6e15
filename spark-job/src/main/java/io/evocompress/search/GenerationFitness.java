package io.evocompress.search;

/**
 * The parent after a generation (generation 0: the initial genome) and its fitness, as the search measured it.
 * {@code parent} is null in a history read from a checkpoint written before parents were recorded.
 */
public record GenerationFitness(int generation, double fitness, Genome parent) {
}
