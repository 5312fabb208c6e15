package io.evocompress.calibration;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The running form against the closed form (2/n) sum X^T X on random data. */
class HessianAccumulatorTest {
    private static final int DIM = 7;
    private static final int TOKENS = 5;

    @Test
    void runningFormEqualsTheClosedForm() {
        int[] batchSequences = {2, 3, 1, 4};
        SplittableRandom random = new SplittableRandom(11);
        double[] direct = new double[DIM * DIM];   // sum over all tokens of x x^T
        double[] sumSquares = new double[DIM];
        int n = 0;
        try (NDManager manager = NDManager.newBaseManager(Device.cpu());
             HessianAccumulator acc = new HessianAccumulator(manager, DIM)) {
            for (int b : batchSequences) {
                float[] x = new float[b * TOKENS * DIM];
                for (int i = 0; i < x.length; i++) {
                    // features on different scales, one of them large, as real activations have
                    x[i] = (float) (random.nextGaussian() * (1 + (i % DIM == 3 ? 20 : i % DIM)));
                }
                for (int t = 0; t < b * TOKENS; t++) {
                    for (int i = 0; i < DIM; i++) {
                        double xi = x[t * DIM + i];
                        sumSquares[i] += xi * xi;
                        for (int j = 0; j < DIM; j++) {
                            direct[i * DIM + j] += xi * x[t * DIM + j];
                        }
                    }
                }
                n += b;
                try (NDManager scope = manager.newSubManager()) {
                    acc.add(scope.create(x, new Shape(b, TOKENS, DIM)));
                }
            }
            Hessian h = acc.hessian();
            assertEquals(n, h.sequences());
            assertEquals(10, n);
            for (int k = 0; k < direct.length; k++) {
                double expected = 2.0 / n * direct[k];
                assertEquals(expected, h.values()[k], 1e-12 * Math.max(1, Math.abs(expected)), "H entry " + k);
            }
            double[] norms = acc.columnNorms();
            for (int j = 0; j < DIM; j++) {
                assertEquals(Math.sqrt(sumSquares[j]), norms[j], 1e-9 * Math.sqrt(sumSquares[j]));
                // diag H = (2/n) ||X_j||^2
                assertEquals(2.0 / n * sumSquares[j], h.get(j, j), 1e-9 * h.get(j, j));
            }
        }
    }

    @Test
    void flattenedTokensCountTheSequencesGiven() {
        try (NDManager manager = NDManager.newBaseManager(Device.cpu());
             HessianAccumulator acc = new HessianAccumulator(manager, 2)) {
            // one sequence of two tokens (1, 2) and (3, 4): H = 2 * [[1+9, 2+12], [2+12, 4+16]]
            acc.add(manager.create(new float[] {1, 2, 3, 4}, new Shape(2, 2)), 1);
            assertArrayEquals(new double[] {20, 28, 28, 40}, acc.hessian().values(), 1e-12);
            // a second, all-zero sequence halves it: H = (2/2) sum X^T X
            acc.add(manager.create(new float[] {0, 0}, new Shape(1, 1, 2)));
            assertArrayEquals(new double[] {10, 14, 14, 20}, acc.hessian().values(), 1e-12);
            assertThrows(IllegalArgumentException.class, () -> acc.add(manager.create(new float[3], new Shape(1, 3))));
        }
    }
}
