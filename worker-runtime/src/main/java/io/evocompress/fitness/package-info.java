/**
 * Candidate evaluation for the evolutionary search (ALGORITHMS.md section 3, "Fitness"): a candidate
 * ({@link io.evocompress.fitness.CandidateSpec}, decoded from a genome by
 * {@link io.evocompress.fitness.GenomeDecoder}) is stitched into a dense model from the variant
 * database ({@link io.evocompress.fitness.CandidateModel}), and scored against the dense model's
 * outputs on the calibration pool ({@link io.evocompress.fitness.TeacherOutputs},
 * {@link io.evocompress.fitness.CandidateScorer}). {@link io.evocompress.fitness.CandidateWorker}
 * runs one evaluation with per-JVM caches; the Spark and local evaluators call it.
 */
package io.evocompress.fitness;
