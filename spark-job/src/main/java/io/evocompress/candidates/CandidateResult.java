package io.evocompress.candidates;

import io.evocompress.fitness.CandidateScore;
import io.evocompress.fitness.FitnessTiming;

/**
 * One candidate's fitness as returned by its task, with the task's time split (nanoseconds):
 * stitching, forward, metric, and the whole evaluation inside the task (model and database loading
 * on first use included).
 */
public record CandidateResult(int index, double fitness, long positions, long stitchNanos, long forwardNanos,
                              long metricNanos, long taskNanos) {

    static CandidateResult of(int index, CandidateScore score, long taskNanos) {
        FitnessTiming t = score.timing();
        return new CandidateResult(index, score.fitness(), score.positions(), t.stitchNanos(), t.forwardNanos(),
            t.metricNanos(), taskNanos);
    }
}
