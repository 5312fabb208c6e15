package io.evocompress.fitness;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.evocompress.EvocompressException;
import io.evocompress.metrics.TokenMetrics;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Scores the candidate a {@link CandidateModel} has applied on a minibatch of the calibration pool
 * (ALGORITHMS.md section 3, "Fitness"): each entry is a pool sequence cut to a length; entries of
 * equal length are batched together, in order of first appearance, so the same minibatch always runs
 * the same forwards and sums in the same order (a retried task returns the same bits).
 *
 * <ul>
 *   <li>{@code kl}: KL(P_dense || Q) summed over the vocabulary with log-softmax in float32, averaged over
 *   positions (the last of each entry dropped) - {@link TokenMetrics#klSumFromLogProbs};</li>
 *   <li>{@code topk-kl}: the same over the teacher's K most likely tokens, both renormalised -
 *   {@link TokenMetrics#topKKlSum};</li>
 *   <li>{@code ppl}: exp of the mean next-token NLL - {@link TokenMetrics#nllSum}.</li>
 * </ul>
 * Forward and metric times are measured apart; on a GPU the forward's time includes waiting for it
 * (one element of its output is read back).
 */
public final class CandidateScorer {
    private final FitnessKind kind;
    private final int batchSize;

    public CandidateScorer(FitnessKind kind, int batchSize) {
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch size must be at least 1, but was " + batchSize);
        }
        this.kind = kind;
        this.batchSize = batchSize;
    }

    /**
     * @param teacher   the dense outputs (null only for ppl); full for kl, top-K for topk-kl
     * @param pool      the calibration pool's token ids
     * @param sequences pool indices of the minibatch
     * @param lengths   tokens used from the start of each (at least 2 to count)
     */
    public CandidateScore score(CandidateModel candidate, TeacherOutputs teacher, int[][] pool, int[] sequences,
                                int[] lengths) {
        checkTeacher(teacher);
        double sum = 0;
        long positions = 0;
        long forwardNanos = 0;
        long metricNanos = 0;
        NDManager parent = candidate.model().manager();
        for (int[] batch : batches(pool, sequences, lengths)) {
            int t = lengths[batch[0]];
            int[] seqs = new int[batch.length];
            int[] flat = new int[batch.length * t];
            for (int b = 0; b < batch.length; b++) {
                seqs[b] = sequences[batch[b]];
                System.arraycopy(pool[seqs[b]], 0, flat, b * t, t);
            }
            try (NDManager scope = parent.newSubManager()) {
                long t0 = System.nanoTime();
                NDArray ids = scope.create(flat, new Shape(batch.length, t));
                NDArray logits = candidate.logits(ids);
                logits.get(0, 0, 0).getFloat(); // wait for the forward (asynchronous on a GPU)
                long t1 = System.nanoTime();
                sum += switch (kind) {
                    case KL -> TokenMetrics.klSumFromLogProbs(teacher.logProbs(scope, seqs, t), logits);
                    case TOPK_KL -> TokenMetrics.topKKlSum(teacher.topIndices(scope, seqs, t),
                        teacher.topLogProbs(scope, seqs, t), logits);
                    case PPL -> TokenMetrics.nllSum(logits, ids);
                };
                long t2 = System.nanoTime();
                forwardNanos += t1 - t0;
                metricNanos += t2 - t1;
                positions += (long) batch.length * (t - 1);
            }
        }
        if (positions == 0) {
            throw new EvocompressException("The minibatch has no position to score (every entry is shorter than 2 tokens)");
        }
        double mean = sum / positions;
        double fitness = kind == FitnessKind.PPL ? Math.exp(mean) : mean;
        return new CandidateScore(fitness, sum, positions, new FitnessTiming(0, forwardNanos, metricNanos));
    }

    private void checkTeacher(TeacherOutputs teacher) {
        if (kind == FitnessKind.KL && (teacher == null || teacher.topK() != 0)) {
            throw new IllegalArgumentException("kl fitness needs the teacher's full log-probabilities");
        }
        if (kind == FitnessKind.TOPK_KL && (teacher == null || teacher.topK() == 0)) {
            throw new IllegalArgumentException("topk-kl fitness needs the teacher's top-K outputs");
        }
    }

    /** Minibatch entries (indices into sequences) grouped by length in order of first appearance, in batches. */
    List<int[]> batches(int[][] pool, int[] sequences, int[] lengths) {
        if (sequences.length != lengths.length) {
            throw new IllegalArgumentException("minibatch has " + sequences.length + " sequences but " + lengths.length
                + " lengths");
        }
        Map<Integer, List<Integer>> byLength = new LinkedHashMap<>();
        for (int i = 0; i < sequences.length; i++) {
            int s = sequences[i];
            if (s < 0 || s >= pool.length) {
                throw new EvocompressException("Minibatch sequence " + s + " is outside the calibration pool of "
                    + pool.length + " sequences");
            }
            if (lengths[i] > pool[s].length) {
                throw new EvocompressException("Minibatch length " + lengths[i] + " exceeds pool sequence " + s + " ("
                    + pool[s].length + " tokens)");
            }
            if (lengths[i] >= 2) {
                byLength.computeIfAbsent(lengths[i], l -> new ArrayList<>()).add(i);
            }
        }
        List<int[]> out = new ArrayList<>();
        for (List<Integer> same : byLength.values()) {
            for (int s = 0; s < same.size(); s += batchSize) {
                out.add(same.subList(s, Math.min(same.size(), s + batchSize)).stream().mapToInt(Integer::intValue).toArray());
            }
        }
        return out;
    }
}
