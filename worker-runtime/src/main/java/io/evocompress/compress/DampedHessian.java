package io.evocompress.compress;

import io.evocompress.calibration.Hessian;
import io.evocompress.calibration.RowBlockMatrix;

import java.util.Comparator;
import java.util.stream.IntStream;

/**
 * The Hessian as the OBS loop uses it (ALGORITHMS.md section 1): dead inputs (H_ii = 0) get H_ii = 1
 * and their weight column is zeroed, then H += lambda I with lambda = ratio * mean(diag H).
 */
final class DampedHessian {
    private DampedHessian() {
    }

    /** Zeroes the columns of {@code weight} (rows, in) whose input is dead (H_ii = 0), in place. */
    static void zeroDeadColumns(Hessian hessian, float[] weight, int rows) {
        int n = hessian.dim();
        for (int i = 0; i < n; i++) {
            if (hessian.get(i, i) == 0) {
                // dead input: never active in calibration, so its weights cannot matter there
                for (int r = 0; r < rows; r++) {
                    weight[r * n + i] = 0;
                }
            }
        }
    }

    /**
     * A copy of H (in row blocks, as H is held) with dead inputs set to H_ii = 1, then H += lambda I,
     * lambda = ratio * mean(diag H).
     */
    static RowBlockMatrix damped(Hessian hessian, double dampRatio) {
        int n = hessian.dim();
        RowBlockMatrix h = hessian.rows().copy();
        for (int i = 0; i < n; i++) {
            if (h.get(i, i) == 0) {
                h.set(i, i, 1);
            }
        }
        // dampening: lambda = ratio * mean(diag H)
        double mean = 0;
        for (int i = 0; i < n; i++) {
            mean += h.get(i, i);
        }
        double lambda = dampRatio * mean / n;
        for (int i = 0; i < n; i++) {
            h.set(i, i, h.get(i, i) + lambda);
        }
        return h;
    }

    /** GPTQ's act-order: input columns by descending diag H (stable). */
    static int[] actOrder(RowBlockMatrix h) {
        double[] d = h.diagonal();
        return IntStream.range(0, h.dim()).boxed()
            .sorted(Comparator.comparingDouble((Integer i) -> -d[i]))
            .mapToInt(Integer::intValue).toArray();
    }

    /** H[order][:, order], in row blocks. */
    static RowBlockMatrix permute(RowBlockMatrix h, int[] order) {
        int n = h.dim();
        RowBlockMatrix p = new RowBlockMatrix(n);
        for (int i = 0; i < n; i++) {
            double[] src = h.blockOfRow(order[i]);
            int s = h.offset(order[i]);
            double[] dst = p.blockOfRow(i);
            int d = p.offset(i);
            for (int j = 0; j < n; j++) {
                dst[d + j] = src[s + order[j]];
            }
        }
        return p;
    }

    /** W[:, order] for W (rows, n); with {@code inverse}, puts processed column k back at order[k]. */
    static float[] permuteColumns(float[] w, int rows, int n, int[] order, boolean inverse) {
        float[] p = new float[w.length];
        for (int r = 0; r < rows; r++) {
            for (int k = 0; k < n; k++) {
                if (inverse) {
                    p[r * n + order[k]] = w[r * n + k];
                } else {
                    p[r * n + k] = w[r * n + order[k]];
                }
            }
        }
        return p;
    }
}
