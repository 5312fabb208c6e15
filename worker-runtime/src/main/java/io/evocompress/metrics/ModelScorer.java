package io.evocompress.metrics;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.evocompress.model.CausalLm;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntConsumer;

/**
 * Scores token sequences with a model: perplexity, and KL divergence from a reference (dense) model on
 * the same sequences. Sequences of equal length are batched together.
 */
public final class ModelScorer {
    private final CausalLm model;
    private final CausalLm reference; // null: no KL
    private final int batchSize;

    public ModelScorer(CausalLm model, CausalLm reference, int batchSize) {
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch size must be at least 1, but was " + batchSize);
        }
        this.model = model;
        this.reference = reference;
        this.batchSize = batchSize;
    }

    /**
     * Scores every sequence (each at least 2 tokens).
     *
     * @param progress called with the number of sequences done after each batch (may be null)
     */
    public SequenceScores score(List<int[]> sequences, IntConsumer progress) {
        SequenceScores total = SequenceScores.EMPTY;
        int done = 0;
        for (List<int[]> batch : batches(sequences, batchSize)) {
            total = total.plus(scoreBatch(batch));
            done += batch.size();
            if (progress != null) {
                progress.accept(done);
            }
        }
        return total;
    }

    /**
     * The order both scorers sum in: sequences grouped by length (in order of first appearance), each
     * group cut into batches of at most {@code batchSize}; sequences shorter than 2 tokens left out.
     */
    static List<List<int[]>> batches(List<int[]> sequences, int batchSize) {
        Map<Integer, List<int[]>> byLength = new LinkedHashMap<>();
        for (int[] s : sequences) {
            if (s.length < 2) {
                continue; // nothing to predict
            }
            byLength.computeIfAbsent(s.length, k -> new ArrayList<>()).add(s);
        }
        List<List<int[]>> batches = new ArrayList<>();
        for (List<int[]> same : byLength.values()) {
            for (int start = 0; start < same.size(); start += batchSize) {
                batches.add(same.subList(start, Math.min(same.size(), start + batchSize)));
            }
        }
        return batches;
    }

    private SequenceScores scoreBatch(List<int[]> batch) {
        int t = batch.get(0).length;
        int[] flat = new int[batch.size() * t];
        for (int i = 0; i < batch.size(); i++) {
            System.arraycopy(batch.get(i), 0, flat, i * t, t);
        }
        long positions = (long) batch.size() * (t - 1);
        try (NDManager scope = model.manager().newSubManager()) {
            NDArray ids = scope.create(flat, new Shape(batch.size(), t));
            NDArray logits = model.logits(ids);
            double nll = TokenMetrics.nllSum(logits, ids);
            if (reference == null) {
                return new SequenceScores(nll, positions, 0, 0);
            }
            NDArray refIds = ids.toDevice(reference.device(), false);
            NDArray refLogits = reference.logits(refIds).toDevice(logits.getDevice(), false);
            double kl = TokenMetrics.klSum(refLogits, logits);
            return new SequenceScores(nll, positions, kl, positions);
        }
    }
}
