package io.evocompress.compress;

import io.evocompress.EvocompressException;

/**
 * Cholesky factorisation and Cholesky inverse in Java double precision, for the inverse-Hessian
 * factor SparseGPT and GPTQ need. DJL 0.32's PyTorch engine exposes {@code inverse()} but no
 * Cholesky, so these are written out here; O(n^3) on n x n, row-major arrays.
 */
public final class Cholesky {
    private Cholesky() {
    }

    /** L lower triangular with A = L L^T, for A symmetric positive definite (n x n, row-major). */
    public static double[] lower(double[] a, int n) {
        checkSize(a, n);
        double[] l = new double[n * n];
        for (int j = 0; j < n; j++) {
            // L_jj = sqrt(A_jj - sum_k<j L_jk^2)
            double diag = a[j * n + j];
            for (int k = 0; k < j; k++) {
                diag -= l[j * n + k] * l[j * n + k];
            }
            if (!(diag > 0)) {
                throw new EvocompressException("Matrix is not positive definite (pivot " + j + " is " + diag
                    + "): increase the Hessian dampening or use more calibration data.");
            }
            double ljj = Math.sqrt(diag);
            l[j * n + j] = ljj;
            // L_ij = (A_ij - sum_k<j L_ik L_jk) / L_jj for i > j
            for (int i = j + 1; i < n; i++) {
                double s = a[i * n + j];
                int ri = i * n;
                int rj = j * n;
                for (int k = 0; k < j; k++) {
                    s -= l[ri + k] * l[rj + k];
                }
                l[ri + j] = s / ljj;
            }
        }
        return l;
    }

    /** A^-1 from A's lower Cholesky factor L: (L L^T)^-1 = L^-T L^-1 (torch.cholesky_inverse). */
    public static double[] inverseFromLower(double[] l, int n) {
        checkSize(l, n);
        // M = L^-1, lower triangular, by forward substitution, one row at a time:
        // M_ij = -(sum_{k=j}^{i-1} L_ik M_kj) / L_ii. The sums run over k in increasing order as written,
        // but k-outer, j-inner, so that rows of M are read contiguously (the inner loop vectorizes).
        double[] m = new double[n * n];
        double[] s = new double[n];
        for (int i = 0; i < n; i++) {
            int ri = i * n;
            java.util.Arrays.fill(s, 0, i, 0.0);
            for (int k = 0; k < i; k++) {
                double lik = l[ri + k];
                int rk = k * n;
                // terms with j <= k: M_kj is 0 for j > k
                for (int j = 0; j <= k; j++) {
                    s[j] += lik * m[rk + j];
                }
            }
            double lii = l[ri + i];
            for (int j = 0; j < i; j++) {
                m[ri + j] = -s[j] / lii;
            }
            m[ri + i] = 1.0 / lii;
        }
        // A^-1 = M^T M: (A^-1)_ij = sum_{k >= max(i, j)} M_ki M_kj, lower half then mirrored
        double[] inv = new double[n * n];
        for (int k = 0; k < n; k++) {
            int rk = k * n;
            for (int i = 0; i <= k; i++) {
                double mki = m[rk + i];
                for (int j = 0; j <= i; j++) {
                    inv[i * n + j] += mki * m[rk + j];
                }
            }
        }
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < i; j++) {
                inv[j * n + i] = inv[i * n + j];
            }
        }
        return inv;
    }

    /**
     * U upper triangular with H^-1 = U^T U (H symmetric positive definite): the factor the OBS loop
     * walks, as in the reference H = cholesky(H); H = cholesky_inverse(H); U = cholesky(H, upper).
     */
    public static double[] upperFactorOfInverse(double[] h, int n) {
        double[] inverse = inverseFromLower(lower(h, n), n);
        double[] l = lower(inverse, n);
        // U = L^T
        double[] u = new double[n * n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j <= i; j++) {
                u[j * n + i] = l[i * n + j];
            }
        }
        return u;
    }

    private static void checkSize(double[] a, int n) {
        if (a.length != (long) n * n) {
            throw new IllegalArgumentException("Expected an " + n + " x " + n + " matrix (" + (long) n * n
                + " entries), but got " + a.length);
        }
    }
}
