package io.evocompress.search;

/**
 * A genome the search may start from under {@code search.init: best} (the uniform profile, OWL's, the
 * layer-wise scheduler's, ShortGPT's), with the name reports use for it.
 */
public record StartCandidate(String name, Genome genome) {
}
