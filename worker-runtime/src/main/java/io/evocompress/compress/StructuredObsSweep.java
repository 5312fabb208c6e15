package io.evocompress.compress;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The greedy structured OBS loop of {@link StructuredObs} in the engine, float64, on the task's device,
 * with its O(n^2) per-step downdates made lazy so that the O(n^3 + rows n^2) work is engine matmuls.
 *
 * <p>Each step removes the structure b of lowest score_s = sum ([H^-1]_ss)^-1 (.) G_s (G_s = W_s^T W_s,
 * the Gram of its columns), then W -= c hb with c = W_b B, hb = H^-1[b, :], B = ([H^-1]_bb)^-1, and
 * H^-1 -= p hb with p = hb^T B. Instead of rewriting H^-1 (n x n) and W (rows x n) at every step, the
 * steps since the last flush are kept as the stacked factors P = [p ...] (n, k), Q = [hb; ...] (k, n)
 * and C = [c ...] (rows, k), so H^-1 = H^-1_f - P Q and W = W_f - C Q; a step reads only the rows of
 * H^-1 and the columns of W at b through them (O(k n width)), and every {@code FLUSH_COLUMNS} stacked
 * columns one matmul of inner dimension k applies them (the O(n^3) work). What the scores need of the
 * whole matrices, the diagonal blocks D_s = [H^-1]_ss and G_s, is kept up to date by batched width x
 * width products: D_s -= p_s hb_s and G_s -= X_s + X_s^T - hb_s^T B G_b B hb_s with X_s = g_s B hb_s,
 * g = W^T W_b (one product with W_f per step, O(rows n width)). A removed structure's rows and columns
 * are zeroed (masked out of every later hb), as the Java loop zeroes them.
 *
 * <p>Precision: float64 throughout (the greedy order over thousands of dependent steps is what it
 * must reproduce; the tests hold its estimates to 1e-9 of the closed forms).
 */
final class StructuredObsSweep {
    /** Stacked update columns (k) before the lazy downdates are applied to H^-1 and W. */
    private static final int FLUSH_COLUMNS = 256;

    private StructuredObsSweep() {
    }

    /**
     * @param w      W (rows, n) with dead columns zeroed
     * @param damped the damped Hessian (n, n), filled into the engine one row block at a time
     * @param levels strictly ascending numbers of structures removed to snapshot at
     */
    static List<StructuredSnapshot> run(double[] w, int rows, io.evocompress.calibration.RowBlockMatrix damped, int n, int width, int[] levels,
                                        Device device) {
        int structures = n / width;
        int flushSteps = Math.max(1, FLUSH_COLUMNS / width);
        int stackWidth = flushSteps * width;
        boolean[] removed = new boolean[structures];
        int[] order = new int[structures];
        double error = 0;
        List<StructuredSnapshot> snapshots = new ArrayList<>();
        try (NDManager scope = NDManager.newBaseManager(device)) {
            NDArray hinv;
            try (NDArray h = damped.toNDArray(scope, DataType.FLOAT64); NDArray inverse = h.inverse();
                 NDArray transposed = inverse.transpose()) {
                hinv = inverse.add(transposed).muli(0.5);                                    // H^-1_f, symmetric
            }
            NDArray weight = io.evocompress.device.EngineTransfer.create(scope, w, rows, n);                              // W_f
            NDArray keep = scope.ones(new Shape(n), DataType.FLOAT64);                         // 0 on removed columns
            NDArray d;                                                                         // D (S, w, w)
            NDArray g;                                                                         // G (S, w, w)
            try (NDManager init = scope.newSubManager()) {
                NDArray eye = init.eye(structures, structures, 0, DataType.FLOAT64).reshape(structures, 1, structures, 1);
                d = in(init, hinv.reshape(structures, width, structures, width)).mul(eye).sum(new int[] {2});
                NDArray blocks = in(init, weight.reshape(rows, structures, width)).transpose(1, 0, 2);   // (S, rows, w)
                g = blocks.transpose(0, 2, 1).matMul(blocks);
                d.attach(scope);
                g.attach(scope);
            }
            NDArray identity = scope.eye(width, width, 0, DataType.FLOAT64);
            NDArray p = scope.zeros(new Shape(n, stackWidth), DataType.FLOAT64);
            NDArray q = scope.zeros(new Shape(stackWidth, n), DataType.FLOAT64);
            NDArray c = scope.zeros(new Shape(rows, stackWidth), DataType.FLOAT64);
            int stacked = 0;                                                                   // steps since the flush
            int next = 0;
            for (int step = 0; ; step++) {
                if (levels[next] == step) {
                    if (stacked > 0) {
                        flush(hinv, weight, p, q, c, stacked * width, keep);
                        stacked = 0;
                    }
                    snapshots.add(StructuredObs.snapshot(io.evocompress.device.EngineTransfer.toDoubleArray(weight), rows, n, width, removed, Arrays.copyOf(order, step),
                        error));
                    if (++next == levels.length) {
                        return snapshots;
                    }
                }
                try (NDManager it = scope.newSubManager()) {
                    // 1. scores of every structure; the lowest remaining one (ties: lower index) goes
                    NDArray inverses = in(it, d.inverse());
                    NDArray scoreArray = inverses.mul(g).sum(new int[] {1, 2});
                    double[] scores = scoreArray.toDoubleArray();
                    int best = -1;
                    double bestScore = Double.POSITIVE_INFINITY;
                    for (int s = 0; s < structures; s++) {
                        if (!removed[s] && scores[s] < bestScore) {
                            best = s;
                            bestScore = scores[s];
                        }
                    }
                    int b0 = best * width;
                    int b1 = b0 + width;
                    int k = stacked * width;
                    NDArray b = inverses.get(it, new NDIndex(best));                          // B (w, w)
                    // 2. hb = H^-1[b, :] and W_b = W[:, b] through the stacked updates
                    NDArray hb = TriangularProducts.block(hinv, b0, b1, 0, n, it).duplicate();
                    NDArray wb = TriangularProducts.block(weight, 0, rows, b0, b1, it).duplicate();
                    if (k > 0) {
                        NDArray qk = TriangularProducts.block(q, 0, k, 0, n, it);
                        hb.subi(TriangularProducts.block(p, b0, b1, 0, k, it).matMul(qk));
                        wb.subi(TriangularProducts.block(c, 0, rows, 0, k, it).matMul(
                            TriangularProducts.block(q, 0, k, b0, b1, it)));
                    }
                    hb.muli(keep);                                                             // removed columns: 0
                    // 3. g = W^T W_b, then this step's factors
                    NDArray gb = in(it, weight.transpose()).matMul(wb);                                // (n, w)
                    if (k > 0) {
                        NDArray ck = TriangularProducts.block(c, 0, rows, 0, k, it);
                        gb.subi(TriangularProducts.block(q, 0, k, 0, n, it).transpose().matMul(ck.transpose().matMul(wb)));
                    }
                    NDArray cStep = wb.matMul(b);                                              // (rows, w)
                    NDArray pStep = hb.transpose().matMul(b);                                  // (n, w)
                    // 4. the diagonal blocks: D_s -= p_s hb_s; G_s -= X_s + X_s^T - hb_s^T (B G_b B) hb_s
                    NDArray hbBlocks = hb.reshape(width, structures, width).transpose(1, 0, 2);   // (S, w, w)
                    NDArray pBlocks = pStep.reshape(structures, width, width);
                    d.subi(pBlocks.matMul(hbBlocks));
                    NDArray x = gb.reshape(structures, width, width).matMul(b.matMul(hbBlocks));
                    NDArray middle = b.matMul(g.get(it, new NDIndex(best))).matMul(b);
                    NDArray y = hbBlocks.transpose(0, 2, 1).matMul(middle).matMul(hbBlocks);
                    g.subi(x.add(x.transpose(0, 2, 1)).sub(y));
                    // 5. stack them; the removed structure's blocks become inert
                    p.set(new NDIndex(":, " + k + ":" + (k + width)), pStep);
                    q.set(new NDIndex(k + ":" + (k + width) + ", :"), hb);
                    c.set(new NDIndex(":, " + k + ":" + (k + width)), cStep);
                    keep.set(new NDIndex(b0 + ":" + b1), 0);
                    d.set(new NDIndex(best), identity);
                    g.set(new NDIndex(best), 0);
                    removed[best] = true;
                    order[step] = best;
                    error += bestScore / 2;
                }
                if (++stacked == flushSteps) {
                    flush(hinv, weight, p, q, c, stacked * width, keep);
                    stacked = 0;
                }
            }
        }
    }

    /** H^-1_f -= P Q, W_f -= C Q over the k stacked columns; removed rows and columns zeroed. */
    private static void flush(NDArray hinv, NDArray weight, NDArray p, NDArray q, NDArray c, int k, NDArray keep) {
        try (NDManager it = hinv.getManager().newSubManager()) {
            NDArray qk = TriangularProducts.block(q, 0, k, 0, (int) q.getShape().get(1), it);
            hinv.subi(TriangularProducts.block(p, 0, (int) p.getShape().get(0), 0, k, it).matMul(qk));
            weight.subi(TriangularProducts.block(c, 0, (int) c.getShape().get(0), 0, k, it).matMul(qk));
            hinv.muli(keep);
            hinv.muli(in(it, keep.reshape(-1, 1)));
            weight.muli(keep);
        }
    }

    /** {@code array}, now belonging to {@code manager} (ops on it put their results there too). */
    private static NDArray in(NDManager manager, NDArray array) {
        array.attach(manager);
        return array;
    }
}
