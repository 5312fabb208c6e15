package io.evocompress.fitness;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.evocompress.EvocompressException;
import io.evocompress.model.CausalLm;
import io.evocompress.model.StreamedLm;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The dense model's next-token log-probabilities on every sequence of the calibration pool, computed
 * once and reused by every candidate (ALGORITHMS.md section 3, "Fitness"). Kept on the JVM heap in
 * float32, for positions 0 .. T-2 of each sequence (the last predicts nothing), either in full
 * ({@code topK = 0}: (T-1) x V floats per sequence, for small vocabularies and the exact KL) or as the
 * K most likely tokens per position (indices, and log-probabilities renormalised over those K), which
 * bounds memory for large vocabularies.
 *
 * <p>Sequences are computed in a fixed order (grouped by length in pool order, batches of the given
 * size), so the numbers do not depend on which candidates or minibatches come first. A minibatch
 * prefix of length L uses the first L-1 positions of its sequence: the model is causal.
 */
public final class TeacherOutputs {
    private static final int CACHED_TEACHERS = 2;
    private static final String KIND = "teacher-outputs";

    private final int vocab;
    private final int topK;          // 0: full log-probabilities
    private final int[] lengths;     // tokens per pool sequence
    private final float[][] logProbs; // per sequence (T-1) x width, width = V (full) or K
    private final int[][] indices;    // per sequence (T-1) x K, top-K only

    private TeacherOutputs(int vocab, int topK, int[] lengths, float[][] logProbs, int[][] indices) {
        this.vocab = vocab;
        this.topK = topK;
        this.lengths = lengths;
        this.logProbs = logProbs;
        this.indices = indices;
    }

    /**
     * Runs the dense model on every pool sequence.
     *
     * @param topK     0 for full log-probabilities, else K (clamped to the vocabulary)
     * @param maxBytes fail rather than keep more than this many bytes
     */
    public static TeacherOutputs compute(CausalLm dense, int[][] pool, int topK, int batchSize, long maxBytes) {
        TeacherOutputs out = empty(dense.config().vocabSize(), pool, topK, maxBytes);
        for (List<Integer> batch : batches(pool, batchSize)) {
            try (NDManager scope = dense.manager().newSubManager()) {
                out.store(batch, dense.logits(ids(scope, pool, batch)));
            }
        }
        return out;
    }

    /**
     * As {@link #compute(CausalLm, int[][], int, int, long)} with the dense model's weights streamed one block
     * at a time ({@link StreamedLm}): the same batches, the same numbers bit for bit. Batches run in waves whose
     * hidden states fit {@code activationBytes} (at least one batch per wave); each block is loaded once per wave.
     */
    public static TeacherOutputs compute(StreamedLm dense, int[][] pool, int topK, int batchSize, long maxBytes,
                                         long activationBytes) {
        TeacherOutputs out = empty(dense.config().vocabSize(), pool, topK, maxBytes);
        List<List<Integer>> all = batches(pool, batchSize);
        long perToken = (long) dense.config().hiddenSize() * dense.dtype().getNumOfBytes();
        int next = 0;
        while (next < all.size()) {
            int end = next;
            long bytes = 0;
            while (end < all.size()) {
                long need = perToken * all.get(end).size() * pool[all.get(end).get(0)].length;
                if (end > next && bytes + need > activationBytes) {
                    break;
                }
                bytes += need;
                end++;
            }
            List<List<Integer>> wave = all.subList(next, end);
            try (NDManager waveManager = NDManager.newBaseManager(dense.device())) {
                NDArray[] ids = new NDArray[wave.size()];
                for (int i = 0; i < ids.length; i++) {
                    ids[i] = ids(waveManager.newSubManager(), pool, wave.get(i));
                }
                NDArray[] hidden = dense.hiddenStates(ids);
                try (CausalLm head = dense.head()) {
                    for (int i = 0; i < ids.length; i++) {
                        try (NDManager batchManager = ids[i].getManager()) {
                            out.store(wave.get(i), head.head(hidden[i]).toDevice(batchManager.getDevice(), false));
                        }
                    }
                }
            }
            next = end;
        }
        return out;
    }

    /** Outputs for every pool sequence, still to be filled in ({@link #store}); fails when they would exceed maxBytes. */
    private static TeacherOutputs empty(int vocab, int[][] pool, int topK, long maxBytes) {
        int k = topK <= 0 ? 0 : Math.min(topK, vocab);
        long bytes = bytesFor(pool, vocab, k);
        if (bytes > maxBytes) {
            throw new EvocompressException("The dense model's outputs on the calibration pool (" + pool.length
                + " sequences, vocabulary " + vocab + ") need " + (bytes >> 20) + " MiB "
                + (k == 0 ? "as full log-probabilities" : "as top-" + k) + ", over the bound of " + (maxBytes >> 20)
                + " MiB. Use fitness topk-kl (K = 512 tracks full KL closely), a smaller calibration pool, or raise the bound.");
        }
        int[] lengths = new int[pool.length];
        float[][] logProbs = new float[pool.length][];
        int[][] indices = k == 0 ? null : new int[pool.length][];
        for (int i = 0; i < pool.length; i++) {
            lengths[i] = pool[i].length;
            if (pool[i].length < 2) {
                logProbs[i] = new float[0];
                if (indices != null) {
                    indices[i] = new int[0];
                }
            }
        }
        return new TeacherOutputs(vocab, k, lengths, logProbs, indices);
    }

    /** Token ids (B, T) of one batch of pool sequences (equal lengths), in manager. */
    private static NDArray ids(NDManager manager, int[][] pool, List<Integer> batch) {
        int t = pool[batch.get(0)].length;
        int[] flat = new int[batch.size() * t];
        for (int b = 0; b < batch.size(); b++) {
            System.arraycopy(pool[batch.get(b)], 0, flat, b * t, t);
        }
        return manager.create(flat, new Shape(batch.size(), t));
    }

    /** Keeps one batch's log-probabilities (or top K) from its logits (B, T, V); temporaries stay in the logits' manager. */
    private void store(List<Integer> batch, NDArray fullLogits) {
        int t = Math.toIntExact(fullLogits.getShape().get(1));
        int k = topK;
        NDArray logits = fullLogits.get(":, :" + (t - 1) + ", :").toType(DataType.FLOAT32, false);      // (B, T-1, V)
        int width = k == 0 ? vocab : k;
        float[] values;
        int[] top = null;
        if (k == 0) {
            values = logits.logSoftmax(-1).toFloatArray();
        } else {
            // the K largest logits are the K most likely tokens; renormalise over them
            NDList largest = logits.topK(k, -1, true, true);
            NDArray idx = largest.get(0).getDataType() == DataType.INT64 ? largest.get(0) : largest.get(1);
            values = logits.gather(idx, 2).logSoftmax(-1).toFloatArray();         // (B, T-1, K)
            top = idx.toType(DataType.INT32, false).toIntArray();
        }
        int per = (t - 1) * width;
        for (int b = 0; b < batch.size(); b++) {
            int seq = batch.get(b);
            logProbs[seq] = java.util.Arrays.copyOfRange(values, b * per, (b + 1) * per);
            if (top != null) {
                indices[seq] = java.util.Arrays.copyOfRange(top, b * per, (b + 1) * per);
            }
        }
    }

    /**
     * The teacher cached in this JVM under {@code key} (see {@link #key}), computed by {@code compute}
     * the first time; the two most recently used teachers are kept.
     */
    public static TeacherOutputs cached(String key, Supplier<TeacherOutputs> compute) {
        return io.evocompress.ExecutorCache.get(KIND, key, CACHED_TEACHERS, compute);
    }

    public static void clearCache() {
        io.evocompress.ExecutorCache.clear(KIND);
    }

    /** Cache key: what the outputs depend on (model, device, dtype, pool, K, batching). */
    public static String key(String model, String device, String dtype, String poolHash, int topK, int batchSize) {
        return model + "|" + device + "|" + dtype + "|" + poolHash + "|k" + topK + "|b" + batchSize;
    }

    /** SHA-256 of the pool's sequence lengths and token ids. */
    public static String poolHash(int[][] pool) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            ByteBuffer buf = ByteBuffer.allocate(4096);
            md.update(ByteBuffer.allocate(4).putInt(pool.length).array());
            for (int[] seq : pool) {
                md.update(ByteBuffer.allocate(4).putInt(seq.length).array());
                for (int id : seq) {
                    if (buf.remaining() < 4) {
                        md.update(buf.array(), 0, buf.position());
                        buf.clear();
                    }
                    buf.putInt(id);
                }
            }
            md.update(buf.array(), 0, buf.position());
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    public int vocab() {
        return vocab;
    }

    /** 0 when full log-probabilities are kept, else K. */
    public int topK() {
        return topK;
    }

    public int sequences() {
        return lengths.length;
    }

    /** Bytes held on the heap. */
    public long bytes() {
        long b = 0;
        for (int i = 0; i < logProbs.length; i++) {
            b += 4L * logProbs[i].length + (indices == null ? 0 : 4L * indices[i].length);
        }
        return b;
    }

    /** Full log-probabilities (B, L-1, V) of the given pool sequences cut to length L, in manager. */
    public NDArray logProbs(NDManager manager, int[] sequences, int length) {
        if (topK != 0) {
            throw new IllegalStateException("these teacher outputs keep the top-" + topK + " only, not full log-probabilities");
        }
        return manager.create(gather(logProbs, sequences, length, vocab), new Shape(sequences.length, length - 1, vocab));
    }

    /** Top-K token indices (B, L-1, K) as int64, in manager. */
    public NDArray topIndices(NDManager manager, int[] sequences, int length) {
        requireTopK();
        return manager.create(gather(indices, sequences, length, topK), new Shape(sequences.length, length - 1, topK))
            .toType(DataType.INT64, false);
    }

    /** Log-probabilities (B, L-1, K) renormalised over the top K, in manager. */
    public NDArray topLogProbs(NDManager manager, int[] sequences, int length) {
        requireTopK();
        return manager.create(gather(logProbs, sequences, length, topK), new Shape(sequences.length, length - 1, topK));
    }

    private void requireTopK() {
        if (topK == 0) {
            throw new IllegalStateException("these teacher outputs keep full log-probabilities, not a top-K");
        }
    }

    private float[] gather(float[][] rows, int[] sequences, int length, int width) {
        int per = (length - 1) * width;
        float[] out = new float[sequences.length * per];
        for (int b = 0; b < sequences.length; b++) {
            checkLength(sequences[b], length);
            System.arraycopy(rows[sequences[b]], 0, out, b * per, per);
        }
        return out;
    }

    private int[] gather(int[][] rows, int[] sequences, int length, int width) {
        int per = (length - 1) * width;
        int[] out = new int[sequences.length * per];
        for (int b = 0; b < sequences.length; b++) {
            checkLength(sequences[b], length);
            System.arraycopy(rows[sequences[b]], 0, out, b * per, per);
        }
        return out;
    }

    private void checkLength(int sequence, int length) {
        if (sequence < 0 || sequence >= lengths.length) {
            throw new EvocompressException("Minibatch sequence " + sequence + " is outside the calibration pool of "
                + lengths.length + " sequences");
        }
        if (length < 2 || length > lengths[sequence]) {
            throw new EvocompressException("Minibatch length " + length + " for pool sequence " + sequence
                + " must be in [2, " + lengths[sequence] + "]");
        }
    }

    private static long bytesFor(int[][] pool, int vocab, int k) {
        long positions = 0;
        for (int[] s : pool) {
            positions += Math.max(0, s.length - 1);
        }
        return k == 0 ? positions * vocab * 4L : positions * k * 8L;
    }

    /** Pool indices grouped by sequence length (in order of first appearance), in batches. */
    static List<List<Integer>> batches(int[][] pool, int batchSize) {
        Map<Integer, List<Integer>> byLength = new LinkedHashMap<>();
        for (int i = 0; i < pool.length; i++) {
            if (pool[i].length >= 2) {
                byLength.computeIfAbsent(pool[i].length, l -> new ArrayList<>()).add(i);
            }
        }
        List<List<Integer>> out = new ArrayList<>();
        for (List<Integer> same : byLength.values()) {
            for (int s = 0; s < same.size(); s += batchSize) {
                out.add(same.subList(s, Math.min(same.size(), s + batchSize)));
            }
        }
        return out;
    }
}
