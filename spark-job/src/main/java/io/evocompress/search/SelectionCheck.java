package io.evocompress.search;

import io.evocompress.EvocompressException;

import java.util.ArrayList;
import java.util.List;

/**
 * Selection noise, observed ({@code search.selection-check}): each stage's candidates are scored a
 * second time, by a second evaluator, on a minibatch of the same token count drawn from a second
 * pool, and the stage's choice is compared with that second score. The caller gives a pool that
 * shares no token with the first (the job cuts it from the calibration text outside every pool
 * window), so the second minibatch is disjoint from the stage's own. Observation only: selection
 * uses the first scores alone, so the search's result is the same with or without the check.
 *
 * <p>Counted per stage, over the stage's decisions that discarded anything: every (kept, discarded)
 * pair of candidates is one choice, wrong when the kept candidate scores strictly worse (higher) on
 * the second minibatch than the discarded one. For a stage that keeps 1 of n that is n - 1 choices
 * per decision, wrong once per discarded candidate that beats the kept one. {@code bestMissed}
 * counts the decisions whose kept candidates do not include the second minibatch's best. The
 * second minibatch of (generation g, stage s) depends only on (seed, g, s), like the first.
 */
public final class SelectionCheck {
    private final CalibrationPool pool;
    private final CandidateEvaluator evaluator;
    private final List<SelectionStage> stages;
    private final long[] decisions;
    private final long[] choices;
    private final long[] wrong;
    private final long[] bestMissed;
    private final long[] nanos;

    /** One stage's counts; {@code wrongRate} is wrong / choices (NaN before any choice). */
    public record StageTally(int stage, SelectionStage spec, long decisions, long choices, long wrong, long bestMissed,
                             double seconds) {
        public double wrongRate() {
            return choices == 0 ? Double.NaN : (double) wrong / choices;
        }
    }

    /** Fails, naming the stage, when a stage's tokens do not fit the second pool. */
    public SelectionCheck(CalibrationPool pool, CandidateEvaluator evaluator, List<SelectionStage> stages) {
        for (int s = 0; s < stages.size(); s++) {
            if (stages.get(s).tokens() > pool.tokens()) {
                throw new EvocompressException("the selection check's second minibatch for stage " + (s + 1) + " (" + stages.get(s)
                    + ") needs " + stages.get(s).tokens() + " tokens, but its pool holds " + pool.sequences() + " x "
                    + pool.sequenceLength() + " = " + pool.tokens());
            }
        }
        this.pool = pool;
        this.evaluator = evaluator;
        this.stages = List.copyOf(stages);
        int n = stages.size();
        decisions = new long[n];
        choices = new long[n];
        wrong = new long[n];
        bestMissed = new long[n];
        nanos = new long[n];
    }

    /**
     * Stage {@code stage} of {@code generation} scored {@code candidates} and kept those at {@code kept}
     * (indices): score them on the second minibatch and count. Nothing is scored when nothing was discarded.
     */
    void observe(int stage, long seed, int generation, List<Genome> candidates, int[] kept) {
        if (stage >= stages.size()) {
            throw new IllegalStateException("selection check built for stages " + stages + " observed stage " + stage);
        }
        if (kept.length >= candidates.size()) {
            return;
        }
        long t0 = System.nanoTime();
        Minibatch batch = pool.draw(stages.get(stage).tokens(), SearchRandom.of(seed, generation, SearchRandom.Purpose.CHECK, stage));
        double[] second = evaluator.evaluate(List.copyOf(candidates), batch);
        if (second.length != candidates.size()) {
            throw new IllegalStateException("evaluator returned " + second.length + " scores for " + candidates.size() + " candidates");
        }
        boolean[] isKept = new boolean[candidates.size()];
        for (int k : kept) {
            isKept[k] = true;
        }
        double best = Double.POSITIVE_INFINITY;
        for (double v : second) {
            best = Math.min(best, v);
        }
        boolean bestKept = false;
        for (int k : kept) {
            bestKept |= second[k] == best;
            for (int d = 0; d < second.length; d++) {
                if (!isKept[d]) {
                    choices[stage]++;
                    if (second[k] > second[d]) {
                        wrong[stage]++;
                    }
                }
            }
        }
        decisions[stage]++;
        if (!bestKept) {
            bestMissed[stage]++;
        }
        nanos[stage] += System.nanoTime() - t0;
    }

    public List<SelectionStage> stages() {
        return stages;
    }

    /** The counts so far, one per stage, stage 1 first. */
    public List<StageTally> tallies() {
        List<StageTally> out = new ArrayList<>();
        for (int s = 0; s < stages.size(); s++) {
            out.add(new StageTally(s + 1, stages.get(s), decisions[s], choices[s], wrong[s], bestMissed[s], nanos[s] / 1e9));
        }
        return out;
    }
}
