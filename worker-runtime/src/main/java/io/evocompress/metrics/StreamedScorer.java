package io.evocompress.metrics;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.evocompress.model.CausalLm;
import io.evocompress.model.StreamedLm;

import java.util.ArrayList;
import java.util.List;
import java.util.function.IntConsumer;

/**
 * {@link ModelScorer} with the weights streamed block by block ({@link StreamedLm}): the same batches (equal
 * lengths together, {@code batchSize} at a time, in the same order), each scored by the same computation,
 * and the per-batch sums added in the same order, so the result equals the resident scorer's bit for bit.
 *
 * <p>Batches run in waves: a wave's hidden states (B x T x hidden in the compute dtype, per batch) all stay
 * on the device while each block is loaded once for the whole wave; a wave holds as many batches as fit in
 * {@code activationBytes} (at least one). With a reference model, its hidden states are held too, and at the
 * head both heads are on the device at once (the KL needs both logits of a batch).
 */
public final class StreamedScorer {
    /** Default bound on one wave's hidden states. */
    public static final long DEFAULT_ACTIVATION_BYTES = 256L << 20;

    private final StreamedLm model;
    private final StreamedLm reference; // null: no KL
    private final int batchSize;
    private final long activationBytes;

    public StreamedScorer(StreamedLm model, StreamedLm reference, int batchSize, long activationBytes) {
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch size must be at least 1, but was " + batchSize);
        }
        this.model = model;
        this.reference = reference;
        this.batchSize = batchSize;
        this.activationBytes = activationBytes;
    }

    /** As {@link ModelScorer#score}. */
    public SequenceScores score(List<int[]> sequences, IntConsumer progress) {
        List<List<int[]>> batches = ModelScorer.batches(sequences, batchSize);
        long perToken = (long) model.config().hiddenSize() * model.dtype().getNumOfBytes()
            * (reference == null ? 1 : 2);
        SequenceScores total = SequenceScores.EMPTY;
        int done = 0;
        int next = 0;
        while (next < batches.size()) {
            int end = next;
            long bytes = 0;
            while (end < batches.size()) {
                List<int[]> b = batches.get(end);
                long need = perToken * b.size() * b.get(0).length;
                if (end > next && bytes + need > activationBytes) {
                    break;
                }
                bytes += need;
                end++;
            }
            List<List<int[]>> wave = batches.subList(next, end);
            for (SequenceScores s : scoreWave(wave)) {
                total = total.plus(s);
            }
            for (List<int[]> b : wave) {
                done += b.size();
            }
            if (progress != null) {
                progress.accept(done);
            }
            next = end;
        }
        return total;
    }

    private List<SequenceScores> scoreWave(List<List<int[]>> wave) {
        List<SequenceScores> out = new ArrayList<>();
        try (NDManager waveManager = NDManager.newBaseManager(model.device())) {
            NDArray[] ids = new NDArray[wave.size()];
            for (int i = 0; i < ids.length; i++) {
                List<int[]> batch = wave.get(i);
                int t = batch.get(0).length;
                int[] flat = new int[batch.size() * t];
                for (int j = 0; j < batch.size(); j++) {
                    System.arraycopy(batch.get(j), 0, flat, j * t, t);
                }
                ids[i] = waveManager.newSubManager().create(flat, new Shape(batch.size(), t));
            }
            NDArray[] hidden = model.hiddenStates(ids);
            NDArray[] refHidden = reference == null ? null : reference.hiddenStates(ids);
            try (CausalLm head = model.head(); CausalLm refHead = reference == null ? null : reference.head()) {
                for (int i = 0; i < ids.length; i++) {
                    try (NDManager batchManager = ids[i].getManager()) {
                        out.add(batchScores(batchManager, head, refHead, ids[i], hidden[i],
                            refHidden == null ? null : refHidden[i]));
                    }
                }
            }
        }
        return out;
    }

    /** One batch's sums from its final hidden states, as {@link ModelScorer} computes them from its logits. */
    private static SequenceScores batchScores(NDManager batchManager, CausalLm head, CausalLm refHead, NDArray ids,
                                              NDArray hidden, NDArray refHidden) {
        Shape s = ids.getShape();
        long positions = s.get(0) * (s.get(1) - 1);
        NDArray logits = head.head(hidden);
        double nll = TokenMetrics.nllSum(logits, ids);
        if (refHead == null) {
            return new SequenceScores(nll, positions, 0, 0);
        }
        NDArray refLogits = refHead.head(refHidden).toDevice(batchManager.getDevice(), false);
        double kl = TokenMetrics.klSum(refLogits, logits);
        return new SequenceScores(nll, positions, kl, positions);
    }
}
