package io.evocompress.fitness;

import io.evocompress.model.ForwardSpec;
import io.evocompress.model.ModelConfig;

/**
 * How many candidates a streamed task scores together ({@link SharedPrefixScorer}) within the device memory
 * it may use. Scoring together, a task holds on its device:
 * <ul>
 *   <li>fixed: one block's dense weights, one group's variants of a half block (at most the block's linear
 *       layers again), the larger of the embedding and the head (its matrix is held whole), and the temporaries
 *       of one call ({@link #taskActivations}): a half block runs the groups that compute the same in calls of
 *       up to {@link #width} batches' states concatenated along the batch dimension (one call per batch costs
 *       a small model more in per-call overhead than in arithmetic), so a call holds that many batches'
 *       block temporaries, or one batch's head and metric temporaries, the larger;</li>
 *   <li>per live prefix: its hidden states on every batch of the minibatch ({@code tokens x hidden x d}); a
 *       half block has at most one live prefix per candidate, plus the one it is producing.</li>
 * </ul>
 * So a task runs at most {@code floor((budget - fixed) / (tokens x hidden x d)) - 1} candidates at once (at
 * least one). A task given more runs them in consecutive groups of that many: the driver orders a task's
 * candidates by their genomes in block order, so consecutive candidates share the longest prefixes; each
 * group streams the dense blocks again (from the host cache), so the block forwards rise, and the scores do
 * not change (each is the candidate's resident one-at-a-time score, bit for bit).
 */
public final class CandidatesAtOnce {
    /**
     * The block temporaries one concatenated call may hold: past this, a call's arithmetic outweighs its
     * per-call overhead on any device, so concatenating more gains nothing and only costs memory.
     */
    public static final long CALL_BYTES = 256L << 20;

    private CandidatesAtOnce() {
    }

    /**
     * How many batches' states a half block concatenates into one call: as many batches of {@code batch}
     * sequences of {@code seqLen} tokens as fit their block temporaries ({@link #blockActivations}) in
     * {@link #CALL_BYTES}, from 1 (a model whose one batch already exceeds it runs each batch alone) to 1024.
     */
    public static int width(ModelConfig c, int batch, int seqLen, int d) {
        long one = blockActivations(c, batch, seqLen, d);
        return (int) Math.max(1, Math.min(1024, CALL_BYTES / Math.max(1, one)));
    }

    /** The temporaries of one call: {@link #width} batches' block temporaries, or one batch's head and metric's. */
    public static long taskActivations(ModelConfig c, int batch, int seqLen, int d) {
        return taskActivations(c, batch, seqLen, d, Long.MAX_VALUE);
    }

    /** As {@link #taskActivations(ModelConfig, int, int, int)}, where at most {@code batches} batches are live to concatenate. */
    public static long taskActivations(ModelConfig c, int batch, int seqLen, int d, long batches) {
        long calls = Math.max(1, Math.min(width(c, batch, seqLen, d), batches));
        return Math.max(calls * blockActivations(c, batch, seqLen, d), batchActivations(c, batch, seqLen, d));
    }

    /**
     * At most this many candidates together on a device with {@code budget} bytes free, for a model of
     * {@code c} in {@code d}-byte values and a minibatch of {@code tokens} tokens run in batches of
     * {@code batch} sequences of up to {@code seqLen} tokens.
     */
    public static int max(long budget, ModelConfig c, long tokens, int batch, int seqLen, int d) {
        long perPrefix = tokens * c.hiddenSize() * (long) d;
        long room = budget - fixedBytes(c, batch, seqLen, d);
        if (perPrefix <= 0 || room <= 0) {
            return 1;
        }
        long n = room / perPrefix - 1;
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, n));
    }

    /** The fixed part: a block and one group's variants of it, the embedding or head, one call's temporaries. */
    static long fixedBytes(ModelConfig c, int batch, int seqLen, int d) {
        long blockBiasesAndNorms = 8L * c.hiddenSize() + 2L * c.intermediateSize() + c.qDim() + 2L * c.kvDim();
        long block = (2 * c.linearParamsPerBlock() + blockBiasesAndNorms) * d;
        long embedOrHead = (long) c.vocabSize() * c.embedDim() * d;
        return block + embedOrHead + taskActivations(c, batch, seqLen, d);
    }

    /**
     * The activations of one batch of {@code batch} sequences of {@code seqLen} tokens in {@code d}-byte values:
     * the block's input and output (2 B T H d), plus the larger of one block's temporaries, which all live
     * until the block ends (CausalLm scopes them per block), and the head's. Counted from DecoderBlock: 4 T x T
     * arrays per head (scores, scaled, masked, softmax), 9 of q's size (q, RoPE's 5, the grouped copy, PV, its
     * reshape) and 9 of k's and v's, 12 of the hidden size (2 norms of 4, o and down outputs, 2 residual adds),
     * and the MLP's (SwiGLU 5, ReLU 2, tanh-GELU 9) of the intermediate size; the head's logits in the compute
     * dtype and in float32, the teacher's slice, the metric's log-softmax and its KL terms (3), all (B, T, V)
     * in float32 but the first.
     */
    public static long batchActivations(ModelConfig c, int batch, int seqLen, int d) {
        long bt = (long) batch * seqLen;
        long head = bt * c.vocabSize() * (d + 4L * 6);
        return Math.max(blockActivations(c, batch, seqLen, d), 2 * bt * c.hiddenSize() * d + head);
    }

    /** One batch's block input and output and its block temporaries (as {@link #batchActivations}, without the head). */
    static long blockActivations(ModelConfig c, int batch, int seqLen, int d) {
        long bt = (long) batch * seqLen;
        long stream = bt * c.hiddenSize() * d;
        int mlpArrays = c.forward().mlp().gated() ? 5 : c.forward().mlp() == ForwardSpec.Mlp.RELU ? 2 : 9;
        long block = 4L * batch * c.numHeads() * seqLen * seqLen * d + 9 * bt * c.qDim() * d + 9 * bt * c.kvDim() * d
            + 12 * stream + mlpArrays * bt * c.intermediateSize() * d;
        return 2 * stream + block;
    }
}
