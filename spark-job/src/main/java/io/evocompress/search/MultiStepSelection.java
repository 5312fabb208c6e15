package io.evocompress.search;

import io.evocompress.EvocompressException;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.IntStream;

/**
 * Multi-step selection (ALGORITHMS.md section 3). Each stage draws a fresh minibatch of exactly its
 * token count from the calibration pool, scores every remaining candidate on that one minibatch, and
 * keeps its number of survivors, lowest fitness first (ties: the earlier candidate). The parent joins
 * the candidates only before the final stage, decided by stage index; the final stage keeps 1.
 */
public final class MultiStepSelection {
    private final List<SelectionStage> stages;
    private final CalibrationPool pool;

    /** The winner, its fitness on the final stage's minibatch, and how many candidate scores it took. */
    public record Outcome(Genome winner, double fitness, int evaluations) {
    }

    public MultiStepSelection(List<SelectionStage> stages, CalibrationPool pool) {
        if (stages.isEmpty()) {
            throw new EvocompressException("selection needs at least one stage (survivors@tokens), but got none");
        }
        for (int s = 0; s < stages.size(); s++) {
            pool.check(stages.get(s).tokens(), "selection stage " + (s + 1) + " (" + stages.get(s) + ")");
            if (s > 0 && stages.get(s).survivors() > stages.get(s - 1).survivors()) {
                throw new EvocompressException("selection stages must keep a non-increasing number of survivors, but stage "
                    + (s + 1) + " keeps " + stages.get(s).survivors() + " after stage " + s + " kept " + stages.get(s - 1).survivors()
                    + " (stages " + stages + ")");
            }
        }
        if (stages.get(stages.size() - 1).survivors() != 1) {
            throw new EvocompressException("the last selection stage must keep exactly 1 survivor, but keeps "
                + stages.get(stages.size() - 1).survivors() + " (stages " + stages + ")");
        }
        this.stages = List.copyOf(stages);
        this.pool = pool;
    }

    public List<SelectionStage> stages() {
        return stages;
    }

    /** Fails when the first stage would keep more survivors than there are offspring. */
    public void checkOffspring(int offspring) {
        if (stages.get(0).survivors() > offspring) {
            throw new EvocompressException("selection stage 1 keeps " + stages.get(0).survivors() + " survivors but a generation has only "
                + offspring + " offspring: raise the offspring count or lower the survivors (stages " + stages + ")");
        }
    }

    public Outcome select(Genome parent, List<Genome> offspring, CandidateEvaluator evaluator, long seed, int generation) {
        return select(parent, offspring, evaluator, seed, generation, null);
    }

    /** As above, telling {@code check} (when not null) every stage's candidates and what the stage kept; it changes nothing. */
    public Outcome select(Genome parent, List<Genome> offspring, CandidateEvaluator evaluator, long seed, int generation,
                          SelectionCheck check) {
        List<Genome> remaining = new ArrayList<>(offspring);
        double[] fitness = new double[0];
        int evaluations = 0;
        for (int s = 0; s < stages.size(); s++) {
            if (s == stages.size() - 1) {
                remaining.add(parent); // elitism, by stage index only
            }
            if (remaining.isEmpty()) {
                continue;
            }
            Minibatch batch = pool.draw(stages.get(s).tokens(), SearchRandom.of(seed, generation, SearchRandom.Purpose.STAGE, s));
            double[] scores = evaluator.evaluate(List.copyOf(remaining), batch);
            if (scores.length != remaining.size()) {
                throw new IllegalStateException("evaluator returned " + scores.length + " scores for " + remaining.size() + " candidates");
            }
            evaluations += remaining.size();
            int[] keep = IntStream.range(0, remaining.size()).boxed()
                .sorted(Comparator.<Integer>comparingDouble(i -> scores[i]).thenComparingInt(i -> i))
                .limit(stages.get(s).survivors()).mapToInt(Integer::intValue).toArray();
            if (check != null) {
                check.observe(s, seed, generation, List.copyOf(remaining), keep);
            }
            List<Genome> kept = new ArrayList<>();
            fitness = new double[keep.length];
            for (int i = 0; i < keep.length; i++) {
                kept.add(remaining.get(keep[i]));
                fitness[i] = scores[keep[i]];
            }
            remaining = kept;
        }
        return new Outcome(remaining.get(0), fitness[0], evaluations);
    }
}
