package io.evocompress.candidates;

/**
 * Where candidate evaluation time went, summed over every evaluate() call of an evaluator
 * (nanoseconds): stitching, forward and metric inside the tasks, the tasks' whole time, and the
 * wall-clock time of the calls. {@link #overheadNanos} = wall - task time is the scheduling,
 * serialization and result-collection overhead when tasks run one at a time (one device); with
 * several task slots in parallel the task time exceeds the wall time and the difference is clamped to 0.
 *
 * <p>And the work, summed the same way: {@code blockTokens} every block run times the tokens it ran on
 * (a half block one half; shared prefixes once where tasks scored their candidates together),
 * {@code naiveBlockTokens} blocks x tokens x candidates, and {@code togetherCandidates} the candidates
 * scored by tasks that ran them together (streamed) rather than one at a time (resident).
 */
public record EvaluationTiming(long calls, long candidates, long stitchNanos, long forwardNanos, long metricNanos,
                               long taskNanos, long wallNanos, double blockTokens, double naiveBlockTokens,
                               long togetherCandidates) {
    public static final EvaluationTiming ZERO = new EvaluationTiming(0, 0, 0, 0, 0, 0, 0, 0, 0, 0);

    public long overheadNanos() {
        return Math.max(0, wallNanos - taskNanos);
    }

    EvaluationTiming plus(CandidateResult[] results, long wall) {
        long stitch = stitchNanos;
        long forward = forwardNanos;
        long metric = metricNanos;
        long task = taskNanos;
        double block = blockTokens;
        double naive = naiveBlockTokens;
        long together = togetherCandidates;
        for (CandidateResult r : results) {
            block += r.blockTokens();
            naive += r.naiveBlockTokens();
            together += r.together() ? 1 : 0;
            stitch += r.stitchNanos();
            forward += r.forwardNanos();
            metric += r.metricNanos();
            task += r.taskNanos();
        }
        return new EvaluationTiming(calls + 1, candidates + results.length, stitch, forward, metric, task, wallNanos + wall,
            block, naive, together);
    }

    @Override
    public String toString() {
        return String.format("%d calls, %d candidates: stitch %.3f s, forward %.3f s, metric %.3f s, tasks %.3f s, "
                + "wall %.3f s, overhead %.3f s, block-tokens %.0f of %.0f naive", calls, candidates, stitchNanos / 1e9,
            forwardNanos / 1e9, metricNanos / 1e9, taskNanos / 1e9, wallNanos / 1e9, overheadNanos() / 1e9, blockTokens,
            naiveBlockTokens);
    }
}
