package io.evocompress.compress;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import io.evocompress.calibration.Hessian;

import java.util.ArrayList;
import java.util.List;

/**
 * ZipLM-style second-order structured pruning for the DarwinLM database (ALGORITHMS.md section 5):
 * greedy, one structure at a time, on the dense model's input Hessian of the layer. A structure is a
 * group b of {@code width} consecutive input columns: an MLP neuron is one input column of down_proj
 * (width 1, W [hidden, intermediate]); an attention head is head_dim input columns of o_proj
 * (width head_dim, W [hidden, q_dim]). With H^-1 the inverse of the dampened Hessian, each step
 * <ol>
 *   <li>scores every remaining structure, sum over rows w_b^T ([H^-1]_bb)^-1 w_b (for one column
 *       W[:, j]^2 / [H^-1]_jj), and removes the lowest (ties: lower index);</li>
 *   <li>updates the weight W -= W[:, b] ([H^-1]_bb)^-1 H^-1[b, :], which zeroes W[:, b] and is the
 *       least-squares optimal reconstruction of the remaining columns;</li>
 *   <li>removes b from H^-1 by the downdate H^-1 -= H^-1[:, b] ([H^-1]_bb)^-1 H^-1[b, :], leaving the
 *       inverse of H restricted to the remaining columns;</li>
 *   <li>adds the score / 2 to the error estimate.</li>
 * </ol>
 * Dead inputs and dampening as section 1 ({@code DampedHessian}, lambda = 0.01 mean(diag H)). A snapshot
 * is kept at each requested level (number of structures removed). Each step is O(n^2 width + rows n
 * width) for n input columns, O(n^3 + rows n^2) a layer: {@link StructuredObsSweep} runs it in the
 * engine (float64 matmuls on the weight's device, the downdates stacked and applied in products of
 * inner dimension 256); {@link #reference} is the step-by-step Java double loop it replaced.
 */
public final class StructuredObs {
    /** lambda / mean(diag H). */
    public static final double DAMP_RATIO = 0.01;

    private StructuredObs() {
    }

    /** {@link #prune(float[], int, Hessian, int, int[], double)} on a weight NDArray [out, in]. */
    public static List<StructuredSnapshot> prune(NDArray weight, Hessian hessian, int width, int[] levels) {
        DenseWeight w = DenseWeight.of(weight);
        w.checkInputs(hessian);
        return prune(w.values(), w.rows(), hessian, width, levels, DAMP_RATIO, w.device());
    }

    /**
     * Greedy structured OBS pruning of {@code weight} [rows, hessian.dim()] (not modified).
     *
     * @param width     input columns per structure: 1 for MLP neurons, head_dim for attention heads
     * @param levels    numbers of structures removed at which to snapshot, strictly ascending, in [0, structures]
     * @param dampRatio lambda = dampRatio * mean(diag H); 0.01 by default
     * @return one snapshot per level, in the order of {@code levels}
     */
    public static List<StructuredSnapshot> prune(float[] weight, int rows, Hessian hessian, int width, int[] levels,
                                                 double dampRatio) {
        return prune(weight, rows, hessian, width, levels, dampRatio, Device.cpu());
    }

    /**
     * As {@link #prune(float[], int, Hessian, int, int[], double)}, the O(n^3 + rows n^2) work as float64
     * engine matmuls on {@code device} ({@link StructuredObsSweep}).
     */
    public static List<StructuredSnapshot> prune(float[] weight, int rows, Hessian hessian, int width, int[] levels,
                                                 double dampRatio, Device device) {
        int n = hessian.dim();
        if (weight.length != (long) rows * n) {
            throw new IllegalArgumentException("The weight holds " + weight.length + " values, not rows * in = "
                + rows + " * " + n + ": use the Hessian of this layer's input");
        }
        if (width < 1 || n % width != 0) {
            throw new IllegalArgumentException("Structure width " + width + " must divide the " + n + " input columns");
        }
        int structures = n / width;
        checkLevels(levels, structures);
        // 1. dead inputs zeroed, dampened H; the greedy loop in the engine
        float[] dense = weight.clone();
        DampedHessian.zeroDeadColumns(hessian, dense, rows);
        double[] w = new double[dense.length];  // (rows, n)
        for (int i = 0; i < w.length; i++) {
            w[i] = dense[i];
        }
        return StructuredObsSweep.run(w, rows, DampedHessian.damped(hessian, dampRatio), n, width, levels, device);
    }

    /**
     * As {@link #prune(float[], int, Hessian, int, int[], double, Device)} wholly in Java double, one
     * step at a time with eager downdates: the float64 reference the engine loop is tested against.
     */
    static List<StructuredSnapshot> reference(float[] weight, int rows, Hessian hessian, int width, int[] levels,
                                              double dampRatio) {
        int n = hessian.dim();
        int structures = n / width;
        checkLevels(levels, structures);
        // 1. dead inputs zeroed, dampened H, its inverse
        float[] dense = weight.clone();
        DampedHessian.zeroDeadColumns(hessian, dense, rows);
        double[] h = DampedHessian.damped(hessian, dampRatio).toArray();
        double[] hinv = Cholesky.inverseFromLower(Cholesky.lower(h, n), n);
        double[] w = new double[dense.length];  // (rows, n)
        for (int i = 0; i < w.length; i++) {
            w[i] = dense[i];
        }
        boolean[] removed = new boolean[structures];
        int[] order = new int[structures];
        double error = 0;
        List<StructuredSnapshot> snapshots = new ArrayList<>();
        int next = 0;
        for (int step = 0; ; step++) {
            if (levels[next] == step) {
                snapshots.add(snapshot(w, rows, n, width, removed, java.util.Arrays.copyOf(order, step), error));
                if (++next == levels.length) {
                    return snapshots;
                }
            }
            // 2. score every remaining structure: sum_r w_rb^T ([H^-1]_bb)^-1 w_rb
            int best = -1;
            double bestScore = Double.POSITIVE_INFINITY;
            double[] bestInverse = null;
            for (int s = 0; s < structures; s++) {
                if (removed[s]) {
                    continue;
                }
                double[] blockInverse = blockInverse(hinv, n, s * width, width);
                double score = score(w, rows, n, s * width, width, blockInverse);
                if (score < bestScore) {
                    best = s;
                    bestScore = score;
                    bestInverse = blockInverse;
                }
            }
            // 3. update W and downdate H^-1, then drop b exactly
            int b0 = best * width;
            update(w, rows, n, hinv, b0, width, bestInverse);
            downdate(hinv, n, b0, width, bestInverse);
            for (int c = b0; c < b0 + width; c++) {
                for (int r = 0; r < rows; r++) {
                    w[r * n + c] = 0;
                }
                for (int i = 0; i < n; i++) {
                    hinv[c * n + i] = 0;
                    hinv[i * n + c] = 0;
                }
            }
            removed[best] = true;
            order[step] = best;
            error += bestScore / 2;
        }
    }

    /** 0, 10%, 20%, ... 100% of the structures: round(i * structures / steps) for i in [0, steps], distinct. */
    public static int[] levelsInSteps(int structures, int steps) {
        if (structures < 1 || steps < 1) {
            throw new IllegalArgumentException("Need at least one structure and one step, but got " + structures
                + " structures and " + steps + " steps");
        }
        return java.util.stream.IntStream.rangeClosed(0, steps)
            .map(i -> (int) Math.round((double) i * structures / steps)).distinct().toArray();
    }

    private static void checkLevels(int[] levels, int structures) {
        if (levels.length == 0) {
            throw new IllegalArgumentException("Structured pruning needs at least one level to snapshot");
        }
        for (int i = 0; i < levels.length; i++) {
            if (levels[i] < 0 || levels[i] > structures || (i > 0 && levels[i] <= levels[i - 1])) {
                throw new IllegalArgumentException("Levels must be strictly ascending counts in [0, " + structures
                    + "], but were " + java.util.Arrays.toString(levels));
            }
        }
    }

    /** ([H^-1]_bb)^-1 for the block of {@code width} columns at b0, [width, width]. */
    private static double[] blockInverse(double[] hinv, int n, int b0, int width) {
        double[] block = new double[width * width];
        for (int i = 0; i < width; i++) {
            for (int j = 0; j < width; j++) {
                block[i * width + j] = hinv[(b0 + i) * n + b0 + j];
            }
        }
        return Cholesky.inverseFromLower(Cholesky.lower(block, width), width);
    }

    private static double score(double[] w, int rows, int n, int b0, int width, double[] blockInverse) {
        double total = 0;
        for (int r = 0; r < rows; r++) {
            int row = r * n + b0;
            for (int i = 0; i < width; i++) {
                double s = 0;
                for (int j = 0; j < width; j++) {
                    s += blockInverse[i * width + j] * w[row + j];
                }
                total += w[row + i] * s;
            }
        }
        return total;
    }

    /** W -= W[:, b] ([H^-1]_bb)^-1 H^-1[b, :]. */
    private static void update(double[] w, int rows, int n, double[] hinv, int b0, int width, double[] blockInverse) {
        double[] c = new double[width];
        for (int r = 0; r < rows; r++) {
            int row = r * n;
            // c = ([H^-1]_bb)^-1 w_rb
            for (int i = 0; i < width; i++) {
                double s = 0;
                for (int j = 0; j < width; j++) {
                    s += blockInverse[i * width + j] * w[row + b0 + j];
                }
                c[i] = s;
            }
            for (int i = 0; i < width; i++) {
                int hr = (b0 + i) * n;
                for (int col = 0; col < n; col++) {
                    w[row + col] -= c[i] * hinv[hr + col];
                }
            }
        }
    }

    /** H^-1 -= H^-1[:, b] ([H^-1]_bb)^-1 H^-1[b, :]. */
    private static void downdate(double[] hinv, int n, int b0, int width, double[] blockInverse) {
        // rows of H^-1 at b (copied: they change in the loop), and M = H^-1[:, b] ([H^-1]_bb)^-1 [n, width]
        double[] hb = new double[width * n];
        System.arraycopy(hinv, b0 * n, hb, 0, width * n);
        double[] m = new double[n * width];
        for (int i = 0; i < n; i++) {
            for (int k = 0; k < width; k++) {
                double s = 0;
                for (int j = 0; j < width; j++) {
                    s += hb[j * n + i] * blockInverse[j * width + k];  // H^-1[i, b_j] = H^-1[b_j, i]
                }
                m[i * width + k] = s;
            }
        }
        for (int i = 0; i < n; i++) {
            int row = i * n;
            for (int k = 0; k < width; k++) {
                double mik = m[i * width + k];
                if (mik == 0) {
                    continue;
                }
                int hk = k * n;
                for (int j = 0; j < n; j++) {
                    hinv[row + j] -= mik * hb[hk + j];
                }
            }
        }
    }

    /** The weight with the removed structures' columns dropped, in float32, and the removal order so far. */
    static StructuredSnapshot snapshot(double[] w, int rows, int n, int width, boolean[] removed, int[] order,
                                               double error) {
        int keptCols = n - order.length * width;
        float[] compact = new float[rows * keptCols];
        for (int r = 0; r < rows; r++) {
            int k = 0;
            for (int col = 0; col < n; col++) {
                if (!removed[col / width]) {
                    compact[r * keptCols + k++] = (float) w[r * n + col];
                }
            }
        }
        return new StructuredSnapshot(rows, n, width, order, compact, error);
    }
}
