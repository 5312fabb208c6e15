package io.evocompress.compress;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.evocompress.calibration.RowBlockMatrix;

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
    private final int rowsPerBlock;
    private final float[][] upper;   // U in row blocks of rowsPerBlock rows, row-major
    private final double[] diagonal;

    private InverseFactor(int n, int rowsPerBlock, float[][] upper, double[] diagonal) {
        this.n = n;
        this.rowsPerBlock = rowsPerBlock;
        this.upper = upper;
        this.diagonal = diagonal;
    }

    /** U for {@code damped} (n x n, row-major, symmetric positive definite), in the engine on {@code device}. */
    public static InverseFactor of(double[] damped, int n, Device device) {
        return of(RowBlockMatrix.of(damped, n), device, LEAF);
    }

    /** U for {@code damped} (symmetric positive definite, in row blocks), in the engine on {@code device}. */
    public static InverseFactor of(RowBlockMatrix damped, Device device) {
        return of(damped, device, LEAF);
    }

    /**
     * As {@link #of(RowBlockMatrix, Device)} with Java blocks of at most {@code leaf} columns. The damped H
     * goes to the engine and U comes back one row block at a time ({@link RowBlockMatrix#chunkBytes()}), so
     * neither is ever one Java array: the host holds H's row blocks and U's (4 n^2 bytes), the device the
     * factorisation's arrays.
     */
    static InverseFactor of(RowBlockMatrix damped, Device device, int leaf) {
        FACTORISATIONS.incrementAndGet();
        int n = damped.dim();
        if (n <= leaf) {
            return reference(damped.toArray(), n);
        }
        int rowsPerBlock = RowBlockMatrix.rowsPerBlock(n, Float.BYTES);
        int blocks = (n + rowsPerBlock - 1) / rowsPerBlock;
        double[] diagM = new double[n];
        float[][] u = new float[blocks][];
        try (NDManager scope = NDManager.newBaseManager(device)) {
            // A = J H J: A[i, j] = H[n-1-i, n-1-j], filled one row block at a time
            NDArray aArray = scope.zeros(new Shape(n, n), DataType.FLOAT32);
            for (int b = 0; b < blocks; b++) {
                int r0 = b * rowsPerBlock;
                int r1 = Math.min(n, r0 + rowsPerBlock);
                float[] part = new float[(r1 - r0) * n];
                for (int i = r0; i < r1; i++) {
                    double[] src = damped.blockOfRow(n - 1 - i);
                    int last = damped.offset(n - 1 - i) + n - 1;
                    int at = (i - r0) * n;
                    for (int j = 0; j < n; j++) {
                        part[at + j] = (float) src[last - j];
                    }
                }
                try (NDArray rows = scope.create(part, new Shape(r1 - r0, n))) {
                    aArray.set(new NDIndex(r0 + ":" + r1 + ", :"), rows);
                }
            }
            try (NDArray inverse = inverseCholesky(aArray, 0, n, leaf, diagM, scope)) {
                aArray.close();
                // U = J M J: U's rows [r0, r1) are M's rows [n - r1, n - r0), the flat block reversed
                for (int b = 0; b < blocks; b++) {
                    int r0 = b * rowsPerBlock;
                    int r1 = Math.min(n, r0 + rowsPerBlock);
                    float[] m;
                    try (NDArray rows = inverse.get(new NDIndex((n - r1) + ":" + (n - r0) + ", :"))) {
                        m = rows.toFloatArray();
                    }
                    for (int i = 0, j = m.length - 1; i < j; i++, j--) {
                        float t = m[i];
                        m[i] = m[j];
                        m[j] = t;
                    }
                    u[b] = m;
                }
            }
        }
        double[] diagonal = new double[n];
        for (int i = 0; i < n; i++) {
            diagonal[i] = diagM[n - 1 - i];
        }
        return new InverseFactor(n, rowsPerBlock, u, diagonal);
    }

    /** U in Java double ({@link Cholesky#upperFactorOfInverse}), the float64 reference (layers whose n^2 fits one array). */
    static InverseFactor reference(double[] damped, int n) {
        double[] u = Cholesky.upperFactorOfInverse(damped, n);
        int rowsPerBlock = RowBlockMatrix.rowsPerBlock(n, Float.BYTES);
        int blocks = (n + rowsPerBlock - 1) / rowsPerBlock;
        float[][] f = new float[blocks][];
        for (int b = 0; b < blocks; b++) {
            int r0 = b * rowsPerBlock;
            int count = (Math.min(n, r0 + rowsPerBlock) - r0) * n;
            f[b] = new float[count];
            for (int i = 0; i < count; i++) {
                f[b][i] = (float) u[r0 * n + i];
            }
        }
        double[] diagonal = new double[n];
        for (int i = 0; i < n; i++) {
            diagonal[i] = u[i * n + i];
        }
        return new InverseFactor(n, rowsPerBlock, f, diagonal);
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

    /** The row block of U (float32, row-major) holding row {@code i}; owned by this object, do not modify. */
    float[] blockOfRow(int i) {
        return upper[i / rowsPerBlock];
    }

    /** Where row {@code i} of U starts in {@link #blockOfRow(int)}. */
    int offset(int i) {
        return (i % rowsPerBlock) * n;
    }

    /** U as an engine array (n, n) float32 owned by {@code manager}, filled one row block at a time. */
    NDArray toNDArray(NDManager manager) {
        NDArray out = manager.zeros(new Shape(n, n), DataType.FLOAT32);
        for (int b = 0; b < upper.length; b++) {
            int r0 = b * rowsPerBlock;
            int r1 = Math.min(n, r0 + rowsPerBlock);
            try (NDArray rows = manager.create(upper[b], new Shape(r1 - r0, n))) {
                out.set(new NDIndex(r0 + ":" + r1 + ", :"), rows);
            }
        }
        return out;
    }

    /** diag(U) in float64. */
    double diagonal(int i) {
        return diagonal[i];
    }
}
