package io.evocompress.compress;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * U, the upper triangular factor of the inverse of a damped Hessian, H^-1 = U^T U: the factor the OBS
 * loop of SparseGPT and GPTQ walks (the reference's chol(H), cholesky_inverse, chol(upper)).
 *
 * <p>Computed without forming H^-1: with J the order-reversing permutation, J H J = L L^T (lower
 * Cholesky), and U = J L^-1 J is upper with U^T U = J L^-T L^-1 J = (J L L^T J)^-1 = H^-1. So one
 * Cholesky and one triangular inverse, fused in one recursion on halves (A = J H J, n = n1 + n2):
 * <pre>
 *   M11 = L11^-1             (recursion on A11)
 *   X   = A21 M11^T          (= L21)
 *   M22 = (chol(A22 - X X^T))^-1   (recursion on the Schur complement)
 *   M21 = -M22 X M11
 * </pre>
 * Every product is an engine matmul on the task's device, so the O(n^3) work runs in the engine's BLAS
 * (or on the GPU). The products with a triangular factor (X = A21 M11^T, X M11, M22 (X M11)) and the
 * Schur complement's lower triangle (A22 - X X^T) are {@link TriangularProducts}: recursions whose
 * matmuls skip the zero triangles, so the whole factor costs about 2n^3/3 flops (one Cholesky and one
 * triangular inverse), half of the 4n^3/3 of the full products and of the reference's chol,
 * cholesky_inverse, chol chain. Below {@code leaf} columns a block is factored and inverted in
 * Java double ({@link Cholesky}), O(n leaf^2) in all. Layers of at most {@code leaf} inputs are factored
 * wholly in Java double (the code before the engine path, kept as the reference), so small layers get
 * exactly the float64 factor they always had.
 *
 * <p>Precision: the engine part is float32 like the reference implementations (measured against the
 * float64 path in {@code EngineFactorQualityTest}: layer errors within 1%); the diagonal of U, which
 * sets the error estimate, is kept as the float64 leaves computed it.
 */
public final class InverseFactor {
    /** Largest block factored in Java; also the largest layer factored wholly in Java double. */
    public static final int LEAF = 256;

    private static final java.util.concurrent.atomic.AtomicLong FACTORISATIONS = new java.util.concurrent.atomic.AtomicLong();

    private final int n;
    private final float[] upper;
    private final double[] diagonal;

    private InverseFactor(int n, float[] upper, double[] diagonal) {
        this.n = n;
        this.upper = upper;
        this.diagonal = diagonal;
    }

    /** U for {@code damped} (n x n, row-major, symmetric positive definite), in the engine on {@code device}. */
    public static InverseFactor of(double[] damped, int n, Device device) {
        return of(damped, n, device, LEAF);
    }

    /** As {@link #of(double[], int, Device)} with Java blocks of at most {@code leaf} columns. */
    static InverseFactor of(double[] damped, int n, Device device, int leaf) {
        FACTORISATIONS.incrementAndGet();
        if (n <= leaf) {
            return reference(damped, n);
        }
        // A = J H J, row-major: the flat array reversed
        int size = n * n;
        float[] a = new float[size];
        for (int i = 0; i < size; i++) {
            a[i] = (float) damped[size - 1 - i];
        }
        double[] diagM = new double[n];
        float[] m;
        try (NDManager scope = NDManager.newBaseManager(device)) {
            NDArray aArray = scope.create(a, new Shape(n, n));
            a = null; // the engine holds it now
            try (NDArray inverse = inverseCholesky(aArray, 0, n, leaf, diagM, scope)) {
                m = inverse.toFloatArray();
            }
        }
        // U = J M J: the flat array reversed, in place
        for (int i = 0, j = size - 1; i < j; i++, j--) {
            float t = m[i];
            m[i] = m[j];
            m[j] = t;
        }
        double[] diagonal = new double[n];
        for (int i = 0; i < n; i++) {
            diagonal[i] = diagM[n - 1 - i];
        }
        return new InverseFactor(n, m, diagonal);
    }

    /** U in Java double ({@link Cholesky#upperFactorOfInverse}), the float64 reference. */
    static InverseFactor reference(double[] damped, int n) {
        double[] u = Cholesky.upperFactorOfInverse(damped, n);
        float[] f = new float[u.length];
        for (int i = 0; i < u.length; i++) {
            f[i] = (float) u[i];
        }
        double[] diagonal = new double[n];
        for (int i = 0; i < n; i++) {
            diagonal[i] = u[i * n + i];
        }
        return new InverseFactor(n, f, diagonal);
    }

    /**
     * L^-1 for A = L L^T, A (n, n) float32; writes diag(L^-1) in float64 into diag[offset, offset + n).
     * The result belongs to {@code out}; every intermediate is closed here.
     */
    private static NDArray inverseCholesky(NDArray a, int offset, int n, int leaf, double[] diag, NDManager out) {
        if (n <= leaf) {
            float[] af = a.toFloatArray();
            double[] ad = new double[af.length];
            for (int i = 0; i < af.length; i++) {
                ad[i] = af[i];
            }
            double[] mi = Cholesky.lowerInverse(Cholesky.lower(ad, n), n);
            float[] mf = new float[mi.length];
            for (int i = 0; i < mi.length; i++) {
                mf[i] = (float) mi[i];
            }
            for (int i = 0; i < n; i++) {
                diag[offset + i] = mi[i * n + i];
            }
            return out.create(mf, new Shape(n, n));
        }
        int n1 = split(n, leaf);
        int n2 = n - n1;
        try (NDManager scope = out.newSubManager()) {
            NDArray m11 = inverseCholesky(TriangularProducts.block(a, 0, n1, 0, n1, scope), offset, n1, leaf, diag, scope);
            NDArray a21 = TriangularProducts.block(a, n1, n, 0, n1, scope);
            NDArray x = TriangularProducts.timesLowerTransposed(a21, m11, leaf, scope);          // L21 (n2, n1)
            NDArray schur = TriangularProducts.lowerMinusGram(TriangularProducts.block(a, n1, n, n1, n, scope), x, leaf,
                scope);                                                                           // A22 - L21 L21^T
            NDArray m22 = inverseCholesky(schur, offset + n1, n2, leaf, diag, scope);
            schur.close();
            NDArray m21 = TriangularProducts.lowerTimes(m22, TriangularProducts.timesLower(x, m11, leaf, scope), leaf,
                scope).neg();                                                                     // (n2, n1)
            x.close();
            NDArray top = m11.concat(scope.zeros(new Shape(n1, n2), DataType.FLOAT32), 1);
            NDArray bottom = m21.concat(m22, 1);
            NDArray result = top.concat(bottom, 0);
            result.attach(out);
            return result;
        }
    }

    /** The first half's size: half of n rounded to a multiple of the leaf (so the leaves stay full). */
    private static int split(int n, int leaf) {
        int half = (n / 2 + leaf - 1) / leaf * leaf;
        return Math.min(half, n - 1);
    }

    /**
     * How many factors {@link #of} has computed in this JVM (each n x n Hessian's O(n^3) work): for
     * tests and diagnostics that check a factorisation is shared where it should be.
     */
    public static long factorisations() {
        return FACTORISATIONS.get();
    }

    public int dim() {
        return n;
    }

    /** U (n, n), row-major, float32; owned by this object, do not modify. */
    float[] upper() {
        return upper;
    }

    /** diag(U) in float64. */
    double diagonal(int i) {
        return diagonal[i];
    }
}
