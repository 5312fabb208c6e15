package io.evocompress.compress;

import io.evocompress.calibration.Hessian;

/**
 * A compressed layer's output error on the inputs a Hessian was accumulated from, without the inputs:
 * with H = (2/n) X^T X, ||W X^T - W' X^T||^2 = (n/2) sum_r (W - W')_r H (W - W')_r^T. Plain Java
 * double, O(rows * in^2): a diagnostic, not for the search's inner loop.
 */
public final class OutputError {
    private OutputError() {
    }

    /** ||(W - W') X^T||_F^2 over the Hessian's tokens (undamped H, as accumulated). */
    public static double squared(float[] weight, float[] compressed, Hessian hessian) {
        return quadratic(weight, compressed, hessian) * hessian.sequences() / 2;
    }

    /** ||W X^T - W' X^T||^2 / ||W X^T||^2. */
    public static double relative(float[] weight, float[] compressed, Hessian hessian) {
        return quadratic(weight, compressed, hessian) / quadratic(weight, null, hessian);
    }

    /**
     * The layer's dense output energy on the scale of SparseGPT's error estimate, 1/2 sum_r w_r H w_r^T
     * (= ||W X^T||^2 / n): the layer-wise scheduler's {@code relative} error divides by it.
     */
    public static double energy(float[] weight, Hessian hessian) {
        return quadratic(weight, null, hessian) / 2;
    }

    /** sum_r d_r H d_r^T with d = W - W' (W alone when compressed is null). */
    private static double quadratic(float[] weight, float[] compressed, Hessian hessian) {
        int n = hessian.dim();
        if (weight.length % n != 0 || (compressed != null && compressed.length != weight.length)) {
            throw new IllegalArgumentException("Weights of " + weight.length + " and "
                + (compressed == null ? "-" : compressed.length) + " values do not match a Hessian of dim " + n);
        }
        io.evocompress.calibration.RowBlockMatrix h = hessian.rows();
        int rows = weight.length / n;
        double[] d = new double[n];
        double total = 0;
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < n; i++) {
                d[i] = weight[r * n + i] - (compressed == null ? 0 : compressed[r * n + i]);
            }
            for (int i = 0; i < n; i++) {
                if (d[i] == 0) {
                    continue;
                }
                double s = 0;
                double[] row = h.blockOfRow(i);
                int at = h.offset(i);
                for (int j = 0; j < n; j++) {
                    s += row[at + j] * d[j];
                }
                total += d[i] * s;
            }
        }
        return total;
    }
}
