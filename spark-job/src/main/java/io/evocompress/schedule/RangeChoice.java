package io.evocompress.schedule;

import io.evocompress.EvocompressException;

import java.util.ArrayList;
import java.util.List;

/**
 * {@code range: auto}: plans one schedule per candidate range width around the target
 * ({@link SparsityRange#around}), scores each with a caller's function (e.g. calibration KL divergence
 * of the model pruned to it; lower is better) and keeps the best. Ties keep the earlier candidate, so
 * listing widths in ascending order prefers the narrower range. Every trial is returned for the report.
 */
public final class RangeChoice {
    /**
     * The widths tried by default: 0 (uniform), 0.01, 0.02, 0.05, 0.1, 0.2. The narrow ones matter:
     * on babyllama105 at 80% only width 0.01 beat uniform (the paper saw the same need on OPT-6.7B).
     */
    public static final double[] DEFAULT_WIDTHS = {0.0, 0.01, 0.02, 0.05, 0.1, 0.2};

    /** A caller's score of a schedule; lower is better. */
    @FunctionalInterface
    public interface Scorer {
        double score(SparsitySchedule schedule);
    }

    /** One candidate: its width, the clipped range and the score its schedule got. */
    public record Trial(double width, SparsityRange range, double score) {
    }

    /** The outcome: the best trial, its schedule, and every trial in the order tried. */
    public record Outcome(Trial best, SparsitySchedule schedule, List<Trial> trials) {
    }

    private RangeChoice() {
    }

    public static Outcome choose(List<LayerError> layers, double target, ScheduleSettings settings, double[] widths,
                                 Scorer scorer) {
        if (widths.length == 0) {
            throw new EvocompressException("scheduler.range_widths must list at least one width, but was empty");
        }
        List<Trial> trials = new ArrayList<>();
        Trial best = null;
        SparsitySchedule bestSchedule = null;
        for (double w : widths) {
            SparsityRange range = SparsityRange.around(target, w, settings.cap());
            SparsitySchedule schedule = SparsitySchedule.plan(layers, target, range, settings);
            double score = scorer.score(schedule);
            if (Double.isNaN(score)) {
                throw new EvocompressException("The score of the schedule with range " + range + " (width " + w
                    + ") is NaN: check the calibration data and the model");
            }
            Trial trial = new Trial(w, range, score);
            trials.add(trial);
            if (best == null || score < best.score()) {
                best = trial;
                bestSchedule = schedule;
            }
        }
        return new Outcome(best, bestSchedule, List.copyOf(trials));
    }
}
