/**
 * The layer-wise sparsity scheduler (ALGORITHMS.md section 4): from per-layer OBS error estimates
 * ({@link io.evocompress.scheduler.LayerError}) to per-layer integer zero counts whose total is exactly
 * the target's ({@link io.evocompress.scheduler.SparsitySchedule}), by log-level clustering
 * ({@link io.evocompress.scheduler.LogLevelClustering}), with an automatic range choice
 * ({@link io.evocompress.scheduler.RangeChoice}) and the nearest EvoPress genome for
 * {@code init: scheduler} ({@link io.evocompress.scheduler.GridLevels}). Pure Java: no Spark, no DJL.
 *
 * <p>The paper's formulas were not available; the project's choices, all options:
 * <ul>
 *   <li>Clustering: exact 1-D k-means of log10(E) by dynamic programming, every unit counted once,
 *       default K = 10; equal errors share a level; K above the number of distinct errors gives one
 *       level per distinct error; zero errors are refused unless a floor is set.</li>
 *   <li>Mapping: linear in the level index onto [min, max], higher error to lower sparsity, then one
 *       common shift, clamped to [0, cap] (default cap 0.99), to the exact target.</li>
 *   <li>Integer zeros: round(target * total parameters), largest remainder, ties to the earlier unit.</li>
 *   <li>Per block: a block's error is the sum of its layers' errors.</li>
 *   <li>range auto: widths 0, 0.01, 0.02, 0.05, 0.1, 0.2 centred on the target, lowest score wins, ties
 *       to the earlier (narrower) width.</li>
 * </ul>
 */
package io.evocompress.scheduler;
