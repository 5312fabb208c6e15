package io.evocompress.compress;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.evocompress.EvocompressException;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Cholesky, its inverse and the OBS factor against their defining identities and PyTorch's inverse. */
class CholeskyTest {
    private static final int N = 37;

    @Test
    void factorsSatisfyTheirDefinitions() {
        double[] a = randomSpd(N, 5);
        double[] l = Cholesky.lower(a, N);
        // A = L L^T, L lower
        for (int i = 0; i < N; i++) {
            for (int j = 0; j < N; j++) {
                double s = 0;
                for (int k = 0; k < N; k++) {
                    s += l[i * N + k] * l[j * N + k];
                }
                assertEquals(a[i * N + j], s, 1e-9);
                if (j > i) {
                    assertEquals(0, l[i * N + j]);
                }
            }
        }
        double[] inv = Cholesky.inverseFromLower(l, N);
        double[] u = Cholesky.upperFactorOfInverse(a, N);
        for (int i = 0; i < N; i++) {
            for (int j = 0; j < N; j++) {
                // A A^-1 = I
                double s = 0;
                for (int k = 0; k < N; k++) {
                    s += a[i * N + k] * inv[k * N + j];
                }
                assertEquals(i == j ? 1 : 0, s, 1e-10);
                // U^T U = A^-1, U upper
                double t = 0;
                for (int k = 0; k < N; k++) {
                    t += u[k * N + i] * u[k * N + j];
                }
                assertEquals(inv[i * N + j], t, 1e-12);
                if (i > j) {
                    assertEquals(0, u[i * N + j]);
                }
            }
        }
    }

    @Test
    void inverseAgreesWithPyTorch() {
        double[] a = randomSpd(N, 9);
        double[] inv = Cholesky.inverseFromLower(Cholesky.lower(a, N), N);
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            NDArray torch = m.create(a, new Shape(N, N)).toType(DataType.FLOAT64, false).inverse();
            double[] expected = torch.toDoubleArray();
            for (int i = 0; i < inv.length; i++) {
                assertEquals(expected[i], inv[i], 1e-12);
            }
        }
    }

    @Test
    void rejectsAnIndefiniteMatrix() {
        double[] a = {1, 2, 2, 1};  // eigenvalues 3 and -1
        EvocompressException e = assertThrows(EvocompressException.class, () -> Cholesky.lower(a, 2));
        assertEquals(true, e.getMessage().contains("dampening"));
    }

    /** B B^T + I for a random B (n, n): symmetric positive definite, condition number in the tens. */
    static double[] randomSpd(int n, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        double[] b = new double[n * n];
        for (int i = 0; i < b.length; i++) {
            b[i] = random.nextGaussian() / Math.sqrt(n);
        }
        double[] a = new double[n * n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                double s = i == j ? 1 : 0;
                for (int k = 0; k < n; k++) {
                    s += b[i * n + k] * b[j * n + k];
                }
                a[i * n + j] = s;
            }
        }
        return a;
    }
}
