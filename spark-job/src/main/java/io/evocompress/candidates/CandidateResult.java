package io.evocompress.candidates;

import io.evocompress.fitness.CandidateScore;
import io.evocompress.fitness.FitnessTiming;

/**
 * One candidate's fitness as returned by its task, with the task's time split (nanoseconds):
 * stitching, forward, metric, and the whole evaluation inside the task (model and database loading
 * on first use included); and the work: {@code blockTokens} the block-tokens run (a half block one
 * half), {@code naiveBlockTokens} blocks x tokens. A task that scored its candidates together
 * ({@code together}: streamed, shared prefixes once) reports its whole work on its first candidate's
 * result and 0 on the others, so the sums over results are the tasks' work exactly.
 */
public record CandidateResult(int index, double fitness, long positions, long stitchNanos, long forwardNanos,
                              long metricNanos, long taskNanos, double blockTokens, double naiveBlockTokens,
                              boolean together) {

    static CandidateResult of(int index, CandidateScore score, long taskNanos, double blockTokens, double naiveBlockTokens,
                              boolean together) {
        FitnessTiming t = score.timing();
        return new CandidateResult(index, score.fitness(), score.positions(), t.stitchNanos(), t.forwardNanos(),
            t.metricNanos(), taskNanos, blockTokens, naiveBlockTokens, together);
    }
}
