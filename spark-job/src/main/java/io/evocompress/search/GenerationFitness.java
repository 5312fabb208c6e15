package io.evocompress.search;

/** The parent's fitness after a generation (generation 0: the initial genome), as the search measured it. */
public record GenerationFitness(int generation, double fitness) {
}
