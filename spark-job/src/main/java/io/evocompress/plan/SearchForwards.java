package io.evocompress.plan;

import io.evocompress.builddb.LayerTask;
import io.evocompress.candidates.EvaluationTiming;
import io.evocompress.evopress.SearchJob;
import io.evocompress.search.DepthDomain;
import io.evocompress.search.SearchPreset;

import java.util.List;

/**
 * What prefix sharing predicts for a finished search's block forwards (result.json {@code timing}'s
 * {@code predicted_block_forwards}), to set against what its evaluator ran ({@code block_forwards}).
 *
 * <p>The prediction is {@code naive_block_forwards} less what {@link PrefixSharing} predicts the run's
 * generations save: generations run x (naive - shared) per generation, drawn from the search's own domain,
 * preset and mutation distribution ({@value #SAMPLES} generations, seed 0, independent of the run's), with
 * each stage's candidates (the parent joining the last) cut into tasks of {@code search.candidates-per-task}
 * as the evaluator cuts them. Candidates scored one at a time (resident tasks) share nothing and save only
 * their dropped halves (depth), so the saving is weighted by the fraction of candidates scored together.
 * The other calls of the search evaluator (scoring the start, the final KL of the result and the baselines:
 * a few distinct profiles) are predicted at their naive count.
 */
public final class SearchForwards {
    static final int SAMPLES = 4000;

    private SearchForwards() {
    }

    /** Unit i's half block: the database's layer i (level domains), or the depth domain's drop flags. */
    public static PrefixSharing.Layout layout(SearchJob.Prepared p) {
        if (p.domain() instanceof DepthDomain d) {
            return PrefixSharing.depth(d.blocks(), d.isWholeBlocks());
        }
        List<LayerTask> layers = p.db().layers();
        int[] halves = new int[layers.size()];
        for (int u = 0; u < halves.length; u++) {
            halves[u] = 2 * layers.get(u).block() + (layers.get(u).linear().isAttention() ? 0 : 1);
        }
        return PrefixSharing.levels(p.config().numLayers(), halves);
    }

    /**
     * @param timing      the search evaluator's work over the run
     * @param generations the generations this run evolved (after the resume point for a resumed run)
     * @param perTask     the candidates per Spark task the run used ({@code SearchJob.candidatesPerTask})
     */
    public static double predicted(SearchJob.Prepared p, EvaluationTiming timing, int generations, int perTask) {
        if (generations == 0 || timing.candidates() == 0) {
            return timing.naiveBlockTokens();
        }
        SearchPreset preset = p.search().preset();
        PrefixSharing.Layout layout = layout(p);
        PrefixSharing together = PrefixSharing.predict(p.domain(), layout, preset, SAMPLES, 0, perTask);
        PrefixSharing alone = PrefixSharing.predict(p.domain(), layout, preset, SAMPLES, 0, 1);
        double f = (double) timing.togetherCandidates() / timing.candidates();
        double saved = f * (together.naive() - together.shared()) + (1 - f) * (alone.naive() - alone.shared());
        return timing.naiveBlockTokens() - generations * saved;
    }
}
