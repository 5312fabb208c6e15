package io.evocompress.compress;

import io.evocompress.calibration.Hessian;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Structured OBS on small random problems whose optimum is known in closed form (least squares). */
class StructuredObsTest {
    private static final int TOKENS = 40;
    private static final int ROWS = 5;
    private static final int COLS = 12;

    @Test
    void removingOneStructureIsTheLeastSquaresOptimumAndTheGreedyChoiceIsTheBruteForceOne() {
        for (int width : new int[] {1, 3}) {
            SplittableRandom random = new SplittableRandom(20 + width);
            double[] x = correlatedInputs(random);
            float[] w = randomWeight(random);
            Hessian h = hessian(x);
            // undamped, so the reference is plain least squares on X
            StructuredSnapshot one = StructuredObs.prune(w, ROWS, h, width, new int[] {1}, 0).get(0);
            double bestError = Double.POSITIVE_INFINITY;
            int bestStructure = -1;
            double[] bestW = null;
            for (int s = 0; s < COLS / width; s++) {
                double[] ls = leastSquaresWithout(w, x, s, width);
                double err = outputError(w, ls, x);
                if (err < bestError) {
                    bestError = err;
                    bestStructure = s;
                    bestW = ls;
                }
            }
            assertEquals(bestStructure, one.removed()[0], "width " + width);
            float[] dense = one.denseWeight();
            for (int i = 0; i < dense.length; i++) {
                assertEquals(bestW[i], dense[i], 1e-5 * (1 + Math.abs(bestW[i])), "width " + width + " entry " + i);
            }
            double[] obs = new double[dense.length];
            for (int i = 0; i < dense.length; i++) {
                obs[i] = dense[i];
            }
            assertEquals(bestError, outputError(w, obs, x), 1e-5 * bestError, "width " + width);
            // the estimate 1/2 dW H dW^T with H = 2 X^T X is the output error itself
            assertEquals(bestError, one.errorEstimate(), 1e-9 * bestError, "width " + width);
        }
    }

    @Test
    void snapshotsDropTheirStructuresAndEstimateTheirDampedError() {
        for (int width : new int[] {1, 2, 4}) {
            SplittableRandom random = new SplittableRandom(30 + width);
            double[] x = correlatedInputs(random);
            float[] w = randomWeight(random);
            Hessian h = hessian(x);
            int structures = COLS / width;
            int[] levels = StructuredObs.levelsInSteps(structures, structures);  // every level
            var snapshots = StructuredObs.prune(w, ROWS, h, width, levels, StructuredObs.DAMP_RATIO);
            Hessian damped = RealLayers.damped(h);
            double previous = -1;
            for (StructuredSnapshot s : snapshots) {
                assertEquals(ROWS * (COLS - s.level() * width), s.weight().length);
                assertEquals(s.level(), Arrays.stream(s.removed()).distinct().count());
                if (s.level() > 0) {
                    // a prefix of the next level's removal order
                    assertArrayEquals(Arrays.copyOf(snapshots.get(snapshots.size() - 1).removed(), s.level()), s.removed());
                }
                float[] dense = s.denseWeight();
                for (int removed : s.removed()) {
                    for (int r = 0; r < ROWS; r++) {
                        for (int c = removed * width; c < (removed + 1) * width; c++) {
                            assertEquals(0f, dense[r * COLS + c]);
                        }
                    }
                }
                double exact = RealLayers.quadratic(w, dense, damped) / 2;
                assertEquals(exact, s.errorEstimate(), 1e-6 * Math.max(exact, 1e-12), "width " + width + " " + s);
                assertTrue(s.errorEstimate() >= previous, "errors grow with the level");
                previous = s.errorEstimate();
            }
            // all removed: the estimate is the whole output 1/2 W (H + lambda I) W^T
            assertEquals(RealLayers.quadratic(w, null, damped) / 2, previous, 1e-9 * previous);
        }
    }

    @Test
    void aDeadInputIsRemovedFirstAtNoCost() {
        SplittableRandom random = new SplittableRandom(40);
        double[] x = correlatedInputs(random);
        for (int t = 0; t < TOKENS; t++) {
            x[t * COLS + 7] = 0;
        }
        StructuredSnapshot s = StructuredObs.prune(randomWeight(random), ROWS, hessian(x), 1, new int[] {1}, 0.01).get(0);
        assertArrayEquals(new int[] {7}, s.removed());
        assertEquals(0, s.errorEstimate(), 0);
    }

    @Test
    void badShapesAndLevelsAreRefused() {
        float[] w = new float[ROWS * COLS];
        Hessian h = hessian(correlatedInputs(new SplittableRandom(1)));
        assertThrows(IllegalArgumentException.class, () -> StructuredObs.prune(w, ROWS, h, 5, new int[] {1}, 0.01));
        assertThrows(IllegalArgumentException.class, () -> StructuredObs.prune(w, ROWS, h, 1, new int[] {2, 2}, 0.01));
        assertThrows(IllegalArgumentException.class, () -> StructuredObs.prune(w, ROWS, h, 4, new int[] {4}, 0.01));
        assertArrayEquals(new int[] {0, 2, 3, 5, 6, 8, 10, 11, 13, 14, 16}, StructuredObs.levelsInSteps(16, 10));
    }

    /** X [TOKENS, COLS] with correlated features, so the OBS update matters. */
    private static double[] correlatedInputs(SplittableRandom random) {
        double[] base = new double[TOKENS * COLS];
        for (int i = 0; i < base.length; i++) {
            base[i] = random.nextGaussian();
        }
        double[] x = base.clone();
        for (int t = 0; t < TOKENS; t++) {
            for (int c = 1; c < COLS; c++) {
                x[t * COLS + c] += 0.7 * x[t * COLS + c - 1];
            }
        }
        return x;
    }

    private static float[] randomWeight(SplittableRandom random) {
        float[] w = new float[ROWS * COLS];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) random.nextGaussian();
        }
        return w;
    }

    /** H = (2/n) X^T X with n = 1 sequence. */
    private static Hessian hessian(double[] x) {
        double[] h = new double[COLS * COLS];
        for (int t = 0; t < TOKENS; t++) {
            for (int i = 0; i < COLS; i++) {
                for (int j = 0; j < COLS; j++) {
                    h[i * COLS + j] += 2 * x[t * COLS + i] * x[t * COLS + j];
                }
            }
        }
        return new Hessian(COLS, 1, h);
    }

    /** argmin over W' with W'[:, b] = 0 of ||(W - W') X^T||^2: W'_R = W X^T X_R (X_R^T X_R)^-1 (normal equations). */
    private static double[] leastSquaresWithout(float[] w, double[] x, int structure, int width) {
        int[] kept = java.util.stream.IntStream.range(0, COLS).filter(c -> c / width != structure).toArray();
        int k = kept.length;
        double[] g = new double[k * k];     // X_R^T X_R
        double[] cross = new double[COLS * k];  // X^T X_R
        for (int t = 0; t < TOKENS; t++) {
            for (int a = 0; a < k; a++) {
                for (int b = 0; b < k; b++) {
                    g[a * k + b] += x[t * COLS + kept[a]] * x[t * COLS + kept[b]];
                }
                for (int c = 0; c < COLS; c++) {
                    cross[c * k + a] += x[t * COLS + c] * x[t * COLS + kept[a]];
                }
            }
        }
        double[] gInv = Cholesky.inverseFromLower(Cholesky.lower(g, k), k);
        double[] out = new double[ROWS * COLS];
        for (int r = 0; r < ROWS; r++) {
            for (int b = 0; b < k; b++) {
                double s = 0;
                for (int a = 0; a < k; a++) {
                    double wc = 0;  // (W X^T X_R)[r, a]
                    for (int c = 0; c < COLS; c++) {
                        wc += w[r * COLS + c] * cross[c * k + a];
                    }
                    s += wc * gInv[a * k + b];
                }
                out[r * COLS + kept[b]] = s;
            }
        }
        return out;
    }

    /** ||(W - W') X^T||_F^2 computed from the inputs. */
    private static double outputError(float[] w, double[] compressed, double[] x) {
        double total = 0;
        for (int t = 0; t < TOKENS; t++) {
            for (int r = 0; r < ROWS; r++) {
                double s = 0;
                for (int c = 0; c < COLS; c++) {
                    s += (w[r * COLS + c] - compressed[r * COLS + c]) * x[t * COLS + c];
                }
                total += s * s;
            }
        }
        return total;
    }
}
