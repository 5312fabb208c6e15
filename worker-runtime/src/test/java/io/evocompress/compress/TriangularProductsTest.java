package io.evocompress.compress;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The half-flop triangular products against the full products they replace (float64 sums in Java),
 * at sizes whose recursion splits several times, uneven halves included.
 */
class TriangularProductsTest {
    private static final int TILE = 16;

    @Test
    void triangularProductsEqualTheFullProducts() {
        SplittableRandom random = new SplittableRandom(3);
        for (int k : new int[] {7, 16, 17, 61, 130}) {
            int m = 45;
            float[] t = lower(k, random);
            float[] x = gaussian(m * k, random);
            float[] y = gaussian(k * m, random);
            float[] c = symmetric(m, random);
            try (NDManager scope = NDManager.newBaseManager(Device.cpu())) {
                NDArray ta = scope.create(t, new Shape(k, k));
                NDArray xa = scope.create(x, new Shape(m, k));
                NDArray ya = scope.create(y, new Shape(k, m));
                NDArray ca = scope.create(c, new Shape(m, m));
                assertClose(product(x, m, k, t, k, false), TriangularProducts.timesLower(xa, ta, TILE, scope), m, k, false);
                assertClose(product(x, m, k, t, k, true), TriangularProducts.timesLowerTransposed(xa, ta, TILE, scope), m, k,
                    false);
                assertClose(product(t, k, k, y, m, false), TriangularProducts.lowerTimes(ta, ya, TILE, scope), k, m, false);
                float[] gram = product(x, m, k, x, m, true);
                float[] expected = new float[m * m];
                for (int i = 0; i < m * m; i++) {
                    expected[i] = c[i] - gram[i];
                }
                assertClose(expected, TriangularProducts.lowerMinusGram(ca, xa, TILE, scope), m, m, true);
            }
        }
    }

    /** A (ar, ac) @ B (ac, bc), or A @ B^T with B (bc, ac) when {@code transposed}, summed in double. */
    private static float[] product(float[] a, int ar, int ac, float[] b, int bc, boolean transposed) {
        float[] out = new float[ar * bc];
        for (int i = 0; i < ar; i++) {
            for (int j = 0; j < bc; j++) {
                double s = 0;
                for (int l = 0; l < ac; l++) {
                    s += (double) a[i * ac + l] * (transposed ? b[j * ac + l] : b[l * bc + j]);
                }
                out[i * bc + j] = (float) s;
            }
        }
        return out;
    }

    /** Every entry (only the lower triangle when {@code lowerOnly}) within float32 rounding of the sums. */
    private static void assertClose(float[] expected, NDArray actual, int rows, int cols, boolean lowerOnly) {
        float[] got = actual.toFloatArray();
        assertEquals(expected.length, got.length);
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < (lowerOnly ? i + 1 : cols); j++) {
                assertEquals(expected[i * cols + j], got[i * cols + j], 1e-4 * (1 + Math.abs(expected[i * cols + j])),
                    "entry (" + i + ", " + j + ") of " + rows + " x " + cols);
            }
        }
    }

    private static float[] lower(int k, SplittableRandom random) {
        float[] t = new float[k * k];
        for (int i = 0; i < k; i++) {
            for (int j = 0; j <= i; j++) {
                t[i * k + j] = (float) random.nextGaussian();
            }
        }
        return t;
    }

    private static float[] symmetric(int m, SplittableRandom random) {
        float[] c = new float[m * m];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j <= i; j++) {
                c[i * m + j] = c[j * m + i] = (float) random.nextGaussian();
            }
        }
        return c;
    }

    private static float[] gaussian(int count, SplittableRandom random) {
        float[] x = new float[count];
        for (int i = 0; i < count; i++) {
            x[i] = (float) random.nextGaussian();
        }
        return x;
    }
}
