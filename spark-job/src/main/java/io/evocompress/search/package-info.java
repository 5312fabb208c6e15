/**
 * EvoPress's evolutionary search for dynamic compression (ALGORITHMS.md section 3), independent of
 * Spark and DJL: candidates are scored only through {@link io.evocompress.search.CandidateEvaluator}.
 *
 * <p>Pieces: a {@link io.evocompress.search.SearchDomain} (units, levels, start, the budget-preserving
 * switch: {@link io.evocompress.search.SparsityDomain}, {@link io.evocompress.search.BitsDomain},
 * {@link io.evocompress.search.DepthDomain}); {@link io.evocompress.search.Mutation};
 * {@link io.evocompress.search.MultiStepSelection} over a {@link io.evocompress.search.CalibrationPool};
 * the loop {@link io.evocompress.search.EvolutionarySearch} with a {@link io.evocompress.search.SearchPreset};
 * checkpoints through {@link io.evocompress.search.SearchCheckpointStore}; the baselines
 * {@link io.evocompress.search.RandomSearchBaseline} and {@link io.evocompress.search.BruteForceDepth};
 * and the text form {@link io.evocompress.search.Profile}.
 *
 * <p>Choices made here, where the specification leaves room:
 * <ul>
 *   <li>Randomness: a fresh {@code SplittableRandom} per (seed, generation, purpose, index), mixed with
 *       SplitMix64. Nothing random is carried between generations, so a checkpoint is just the parent,
 *       its fitness and the history, and resuming reproduces an uninterrupted run exactly.</li>
 *   <li>A switch draws the unit to raise uniformly among the units that can go up and the unit to
 *       lower uniformly among those that can go down (redrawn when both are the same unit). Where no
 *       switch exists the domain returns the genome unchanged. Quantization picks among the size groups
 *       where a switch exists, weighted by their unit counts.</li>
 *   <li>Depth: level 1 is dropped; "restore one dropped and drop one kept" is the same level switch
 *       (one unit down, one up) restricted to one type.</li>
 *   <li>Mutation redraws offspring equal to the parent or to an earlier offspring; after 50 draws per
 *       requested offspring it stops and the generation goes on with the distinct offspring it has
 *       (a tiny space, e.g. a depth problem with fewer configurations than offspring).</li>
 *   <li>Selection ranks by fitness then by candidate order (offspring in draw order, the parent last),
 *       so ties are deterministic; a stage keeps min(survivors, candidates).</li>
 *   <li>Minibatches: ceil(tokens / L) distinct pool sequences drawn uniformly, in ascending order,
 *       the last truncated; a stage's minibatch depends only on (seed, generation, stage index).</li>
 *   <li>Generation 0 is the start: the fixed start scored on the initial minibatch (2048 tokens), or
 *       the best of 64 random genomes on it. Random genomes for sparsity and integer bit widths are
 *       random walks of 4 switches per unit from the uniform start.</li>
 *   <li>The depth preset runs ceil(k(n-k)/1.5) generations.</li>
 *   <li>{@link io.evocompress.search.SelectionCheck} ({@code search.selection-check}) scores each stage's
 *       candidates again on a second pool's minibatch of the same size, seeded by (seed, generation,
 *       stage) with its own purpose, and counts (kept, discarded) pairs the second scores order the other
 *       way; it only observes.</li>
 * </ul>
 */
package io.evocompress.search;
