package io.evocompress.compress;

import io.evocompress.EvocompressException;

/**
 * Cholesky factorisation and Cholesky inverse in Java double precision. DJL 0.32's PyTorch engine
 * exposes {@code inverse()} but no Cholesky, so these are written out here; O(n^3) on n x n, row-major
 * arrays. {@link InverseFactor} uses them on blocks of at most 256 columns (and on whole layers that
 * small, and as the float64 reference) and does the O(n^3) work of wide layers in the engine.
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
            // L_ij = (A_ij - sum_k<j L_ik L_jk) / L_jj for i > j. Four rows at a time: four independent
            // sums, each over k in increasing order exactly as one row alone (identical results), so the
            // processor overlaps them instead of waiting on one chain of additions.
            int rj = j * n;
            int i = j + 1;
            for (; i + 3 < n; i += 4) {
                int r0 = i * n;
                int r1 = r0 + n;
                int r2 = r1 + n;
                int r3 = r2 + n;
                double s0 = a[r0 + j];
                double s1 = a[r1 + j];
                double s2 = a[r2 + j];
                double s3 = a[r3 + j];
                for (int k = 0; k < j; k++) {
                    double ljk = l[rj + k];
                    s0 -= l[r0 + k] * ljk;
                    s1 -= l[r1 + k] * ljk;
                    s2 -= l[r2 + k] * ljk;
                    s3 -= l[r3 + k] * ljk;
                }
                l[r0 + j] = s0 / ljj;
                l[r1 + j] = s1 / ljj;
                l[r2 + j] = s2 / ljj;
                l[r3 + j] = s3 / ljj;
            }
            for (; i < n; i++) {
                double s = a[i * n + j];
                int ri = i * n;
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
        double[] m = lowerInverse(l, n);
        return gramOfLower(m, n);
    }

    /** M = L^-1 for L lower triangular (n x n, row-major); M is lower triangular. */
    public static double[] lowerInverse(double[] l, int n) {
        checkSize(l, n);
        // M = L^-1, lower triangular, by forward substitution: M_ij = -(sum_{k=j}^{i-1} L_ik M_kj) / L_ii.
        // Every sum runs over k in increasing order, as written; the loops are arranged k-outer, j-inner
        // (rows of M read contiguously, the inner loop vectorizes) and four rows i share each row k read.
        double[] m = new double[n * n];
        double[][] s = new double[4][n];
        for (int i0 = 0; i0 < n; i0 += 4) {
            int rows = Math.min(4, n - i0);
            for (int t = 0; t < rows; t++) {
                java.util.Arrays.fill(s[t], 0.0);
            }
            // rows k < i0 of M are complete: every row of the block takes their terms
            for (int k = 0; k < i0; k++) {
                int rk = k * n;
                for (int t = 0; t < rows; t++) {
                    double lik = l[(i0 + t) * n + k];
                    double[] st = s[t];
                    for (int j = 0; j <= k; j++) {
                        st[j] += lik * m[rk + j];
                    }
                }
            }
            // then the block's own rows, in order: row i0 + t needs rows i0 .. i0 + t - 1
            for (int t = 0; t < rows; t++) {
                int i = i0 + t;
                int ri = i * n;
                double[] st = s[t];
                for (int k = i0; k < i; k++) {
                    double lik = l[ri + k];
                    int rk = k * n;
                    for (int j = 0; j <= k; j++) {
                        st[j] += lik * m[rk + j];
                    }
                }
                double lii = l[ri + i];
                for (int j = 0; j < i; j++) {
                    m[ri + j] = -st[j] / lii;
                }
                m[ri + i] = 1.0 / lii;
            }
        }
        return m;
    }

    /** M^T M for M lower triangular (n x n): (L L^T)^-1 when M = L^-1. */
    private static double[] gramOfLower(double[] m, int n) {
        double[][] s = new double[4][n];
        // A^-1 = M^T M: (A^-1)_ij = sum_{k >= i} M_ki M_kj for j <= i, summed over k in increasing order;
        // four rows i at a time share each row k read. Lower half, then mirrored.
        double[] inv = new double[n * n];
        for (int i0 = 0; i0 < n; i0 += 4) {
            int rows = Math.min(4, n - i0);
            for (int t = 0; t < rows; t++) {
                java.util.Arrays.fill(s[t], 0.0);
            }
            for (int k = i0; k < n; k++) {
                int rk = k * n;
                for (int t = 0; t < rows; t++) {
                    int i = i0 + t;
                    if (i > k) {
                        break;
                    }
                    double mki = m[rk + i];
                    double[] st = s[t];
                    for (int j = 0; j <= i; j++) {
                        st[j] += mki * m[rk + j];
                    }
                }
            }
            for (int t = 0; t < rows; t++) {
                int i = i0 + t;
                System.arraycopy(s[t], 0, inv, i * n, i + 1);
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
