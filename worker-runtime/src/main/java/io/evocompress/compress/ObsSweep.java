package io.evocompress.compress;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

/**
 * The column-by-column Optimal Brain Surgeon loop that SparseGPT and GPTQ share (ALGORITHMS.md
 * section 2): walk the input columns in blocks; in each block, fix every column to its compressed
 * value q (pruned to 0 and/or quantized), and spread the error over the block's later columns through
 * the inverse-Hessian factor U; after the block, apply the block's errors to all later columns in
 * one matrix product (the lazy batch update).
 *
 * <p>The per-column work (O(rows * B^2) per block) runs in Java double precision on the block's
 * columns; the lazy batch updates (O(rows * in^2) in all, the dominant cost on wide layers) are
 * float32 engine matmuls on the weight's device, applied in place to the weight held there. They are
 * gathered in two levels: a block's update reaches only the rest of its span of about 1024 columns,
 * and the span's errors reach the rest of the layer in one product of inner dimension 1024, so the
 * wide remainder is rewritten once per span instead of once per block (the same sums as the
 * reference's per-block update, in another order).
 */
final class ObsSweep {
    /** What the sweep produced, in processing column order. */
    record Result(float[] weight, double lossSum) {
    }

    /** Columns per span of blocks whose lazy updates are gathered into one product. */
    private static final int SPAN = 1024;

    /** Rows per chunk of the in-block column loop (chunks run in parallel; fixed, so results never depend on threads). */
    private static final int ROW_CHUNK = 64;

    private ObsSweep() {
    }

    /**
     * @param device    where the lazy batch updates run
     * @param w         W (rows, cols) row-major, dead columns zeroed, columns in processing order
     * @param factor    U (cols, cols), upper, H^-1 = U^T U in processing order
     * @param blockSize B, columns per block
     * @param pattern   the mask to select (null: no pruning)
     * @param quantizer quantizes each kept weight (null: none)
     */
    static Result run(Device device, float[] w, int rows, int cols, InverseFactor factor, int blockSize,
                      SparsityPattern pattern, ColumnQuantizer quantizer) {
        float[] out = new float[rows * cols];
        double lossSum = 0;
        if (quantizer != null && quantizer.spec().perChannelGrid()) {
            // one grid per row, fitted on the whole (dead-zeroed) weight before the sweep
            double[] all = new double[w.length];
            for (int i = 0; i < w.length; i++) {
                all[i] = w[i];
            }
            quantizer.fit(0, all, cols, 0, cols);
        }
        // blocks of B columns inside spans of about SPAN columns: a block's lazy update reaches the rest
        // of its span; a span's reaches the rest of the layer, in one product of inner dimension SPAN
        int span = blockSize * Math.max(1, SPAN / blockSize);
        try (NDManager scope = NDManager.newBaseManager(device)) {
            NDArray uFloat = factor.toNDArray(scope);                           // (cols, cols), by row blocks
            NDArray weight = io.evocompress.device.EngineTransfer.create(scope, w, rows, cols);           // updated in place, column blocks read back
            float[] spanErr = null;                                            // Err of the span (rows, s2 - s1)
            for (int i1 = 0; i1 < cols; i1 += blockSize) {
                int i2 = Math.min(cols, i1 + blockSize);
                int bw = i2 - i1;
                int s1 = i1 / span * span;
                int s2 = Math.min(cols, s1 + span);
                if (i1 == s1) {
                    spanErr = new float[rows * (s2 - s1)];
                }
                // W1 = W[:, i1:i2], already carrying every earlier block's update   (rows, bw)
                double[] w1;
                try (NDArray block = weight.get(":, " + i1 + ":" + i2)) {
                    w1 = toDouble(block.toFloatArray());
                }
                double[] err = new double[rows * bw];                          // Err1 (rows, bw)
                boolean[] mask = new boolean[rows * bw];                       // true: pruned
                double[] scores = new double[rows * bw];                       // w^2 / U_ii^2   (rows, bw)
                if (pattern != null && !pattern.isNOfM()) {
                    // unstructured: mask the lowest w^2 / U_ii^2 of the whole block, on the updated weights
                    scores(w1, 0, rows, bw, 0, bw, factor, i1, scores);
                    MaskSelection.markLowest(scores, 0, rows * bw, pattern.exactTotal()
                        ? pattern.zerosInColumns(rows, i1, i2) : pattern.zerosIn(rows * bw), mask);
                }
                // the block's columns, one after the other; rows are independent here (masks, grids and
                // updates are per row), so chunks of rows run in parallel, and the loss is summed per chunk
                // then over chunks in order: the same result on any number of threads
                int chunks = (rows + ROW_CHUNK - 1) / ROW_CHUNK;
                double[] chunkLoss = new double[chunks];
                int from = i1;
                java.util.stream.IntStream.range(0, chunks).parallel().forEach(k -> chunkLoss[k] = sweepBlock(w1, err,
                    mask, scores, out, k * ROW_CHUNK, Math.min(rows, (k + 1) * ROW_CHUNK), cols, from, bw, factor,
                    pattern, quantizer));
                for (double l : chunkLoss) {
                    lossSum += l;
                }
                float[] errFloat = toFloat(err);
                int spanWidth = s2 - s1;
                for (int r = 0; r < rows; r++) {
                    System.arraycopy(errFloat, r * bw, spanErr, r * spanWidth + i1 - s1, bw);
                }
                if (i2 < s2) {
                    // lazy batch update in the span: W[:, i2:s2] -= Err1 (rows, bw) @ U[i1:i2, i2:s2]
                    lazyUpdate(scope, weight, uFloat, errFloat, rows, i1, i2, s2);
                } else if (s2 < cols) {
                    // the span's: W[:, s2:] -= Err (rows, span) @ U[s1:s2, s2:]
                    lazyUpdate(scope, weight, uFloat, spanErr, rows, s1, s2, cols);
                }
            }
        }
        return new Result(out, lossSum);
    }

    /**
     * Rows [r0, r1) of one block's columns: fixes each column to q, records err = (w - q) / U_cc, and
     * spreads it over the block's later columns through U. Returns the rows' sum of (w - q)^2 / U_cc^2.
     */
    private static double sweepBlock(double[] w1, double[] err, boolean[] mask, double[] scores, float[] out,
                                     int r0, int r1, int cols, int i1, int bw, InverseFactor factor,
                                     SparsityPattern pattern, ColumnQuantizer quantizer) {
        double lossSum = 0;
        for (int j = 0; j < bw; j++) {
            int c = i1 + j;
            double d = factor.diagonal(c);                                     // U_cc
            if (pattern != null && pattern.isNOfM() && j % pattern.m() == 0) {
                // N:M: per row, mask the N lowest w^2 / U_ii^2 of the next M columns
                scores(w1, r0, r1, bw, j, j + pattern.m(), factor, i1, scores);
                for (int r = r0; r < r1; r++) {
                    MaskSelection.markLowest(scores, r * bw + j, r * bw + j + pattern.m(), pattern.n(), mask);
                }
            }
            if (quantizer != null && quantizer.startsGroup(c)) {
                // a new group's grid, fitted on the current (updated) weights of its columns
                quantizer.fit(quantizer.group(c), w1, bw, j, j + quantizer.groupEnd(c) - c, r0, r1);
            }
            float[] u = factor.blockOfRow(c);                                  // U's row c (its block)
            int uRow = factor.offset(c) + i1;
            for (int r = r0; r < r1; r++) {
                int at = r * bw + j;
                double wv = w1[at];
                // q: pruned to 0, then quantized (0 stays exactly 0 on a min-max grid)
                double q = mask[at] ? 0 : wv;
                if (quantizer != null) {
                    q = quantizer.quantize(r, c, q);
                }
                double e = (wv - q) / d;                                       // err = (w - q) / U_cc
                lossSum += e * e;                                              // (w - q)^2 / U_cc^2
                err[at] = e;
                out[r * cols + c] = (float) q;
                // W1[r, j+1:] -= err * U[c, c+1:i2]
                int wRow = r * bw;
                for (int k = j + 1; k < bw; k++) {
                    w1[wRow + k] -= e * u[uRow + k];
                }
            }
        }
        return lossSum;
    }

    /** W[:, to:end] -= E (rows, to - from) @ U[from:to, to:end], in place. */
    private static void lazyUpdate(NDManager scope, NDArray weight, NDArray u, float[] err, int rows, int from, int to,
                                   int end) {
        try (NDArray rest = weight.get(":, " + to + ":" + end);
             NDArray errArray = scope.create(err, new Shape(rows, to - from));
             NDArray uRows = u.get(from + ":" + to + ", " + to + ":" + end);
             NDArray update = errArray.matMul(uRows)) {
            rest.subi(update);
        }
    }

    /** Writes w^2 / U_cc^2 for the block's columns [from, to) into s, laid out as the block (rows, bw). */
    private static void scores(double[] w1, int r0, int r1, int bw, int from, int to, InverseFactor factor, int i1,
                               double[] s) {
        for (int j = from; j < to; j++) {
            double d = factor.diagonal(i1 + j);
            double d2 = d * d;
            for (int r = r0; r < r1; r++) {
                double wv = w1[r * bw + j];
                s[r * bw + j] = wv * wv / d2;
            }
        }
    }

    private static float[] toFloat(double[] x) {
        float[] f = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            f[i] = (float) x[i];
        }
        return f;
    }

    private static double[] toDouble(float[] x) {
        double[] d = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            d[i] = x[i];
        }
        return d;
    }
}
