/**
 * The layer-wise sparsity scheduler (ALGORITHMS.md section 4): from per-layer OBS error estimates
 * ({@link io.evocompress.schedule.LayerError}) to per-layer integer zero counts whose total is exactly
 * the target's ({@link io.evocompress.schedule.SparsitySchedule}), by log-level clustering
 * ({@link io.evocompress.schedule.LogLevelClustering}), with an automatic range choice
 * ({@link io.evocompress.schedule.RangeChoice}) and the nearest EvoPress genome for
 * {@code init: scheduler} ({@link io.evocompress.schedule.GridLevels}): these are pure Java, no Spark, no DJL.
 * {@link io.evocompress.schedule.ScheduleJob} runs them on Spark: Hessians, layer errors, the
 * {@link io.evocompress.schedule.CompressScheduledLayer} tasks and the INT4 database.
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
package io.evocompress.schedule;
