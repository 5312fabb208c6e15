package io.evocompress.train;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** AdamW against its closed form, written out in double precision. */
class AdamWTest {

    @Test
    void firstStepIsSignOfGradientPlusDecoupledDecay() {
        // after one step mhat = g and vhat = g^2, so p1 = p (1 - lr wd) - lr g / (|g| + eps)
        float[] p0 = {1f, -2f, 0.5f, 3f};
        float[] g = {0.1f, -0.2f, 0.3f, 0.4f};
        double lr = 0.1;
        double wd = 0.01;
        try (NDManager m = NDManager.newBaseManager(Device.cpu());
             AdamW adamW = new AdamW(new AdamW.Settings(0.9, 0.999, 1e-8, wd), Device.cpu())) {
            NDArray p = m.create(p0, new Shape(2, 2));
            adamW.update(Map.of("w", p), Map.of("w", m.create(g, new Shape(2, 2))), lr);
            float[] got = p.toFloatArray();
            for (int i = 0; i < 4; i++) {
                double expected = p0[i] * (1 - lr * wd) - lr * g[i] / (Math.abs(g[i]) + 1e-8);
                assertEquals(expected, got[i], 1e-6, "entry " + i);
            }
        }
    }

    @Test
    void threeStepsMatchTheRecurrenceAndNormsAreNotDecayed() {
        double b1 = 0.8;
        double b2 = 0.95;
        double eps = 1e-3;
        double wd = 0.1;
        double[] lrs = {0.05, 0.1, 0.02};
        float[][] grads = {{0.5f, -1f, 2f}, {-0.25f, 0.5f, 1f}, {1.5f, 0.1f, -3f}};
        float[] matrix0 = {0.3f, -0.7f, 1.1f};
        float[] norm0 = {1f, 1f, 1f};
        double[] matrix = toDouble(matrix0);
        double[] norm = toDouble(norm0);
        double[] m = new double[3];
        double[] v = new double[3];
        try (NDManager nd = NDManager.newBaseManager(Device.cpu());
             AdamW adamW = new AdamW(new AdamW.Settings(b1, b2, eps, wd), Device.cpu())) {
            NDArray pm = nd.create(matrix0, new Shape(1, 3));
            NDArray pn = nd.create(norm0, new Shape(3));
            for (int t = 1; t <= 3; t++) {
                float[] g = grads[t - 1];
                try (NDManager step = nd.newSubManager()) {
                    adamW.update(Map.of("matrix", pm, "norm", pn),
                        Map.of("matrix", step.create(g, new Shape(1, 3)), "norm", step.create(g, new Shape(3))), lrs[t - 1]);
                }
                double bc1 = 1 - Math.pow(b1, t);
                double bc2 = 1 - Math.pow(b2, t);
                for (int i = 0; i < 3; i++) {
                    m[i] = b1 * m[i] + (1 - b1) * g[i];
                    v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
                    double update = lrs[t - 1] / bc1 * m[i] / (Math.sqrt(v[i]) / Math.sqrt(bc2) + eps);
                    matrix[i] = matrix[i] * (1 - lrs[t - 1] * wd) - update;
                    norm[i] = norm[i] - update;
                }
            }
            assertEquals(3, adamW.step());
            float[] gotMatrix = pm.toFloatArray();
            float[] gotNorm = pn.toFloatArray();
            for (int i = 0; i < 3; i++) {
                assertEquals(matrix[i], gotMatrix[i], 1e-6, "matrix entry " + i);
                assertEquals(norm[i], gotNorm[i], 1e-6, "norm entry " + i);
            }
            assertEquals(m[2], adamW.firstMoments().get("matrix").toFloatArray()[2], 1e-6);
            assertEquals(v[2], adamW.secondMoments().get("norm").toFloatArray()[2], 1e-6);
        }
    }

    private static double[] toDouble(float[] a) {
        double[] out = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            out[i] = a[i];
        }
        return out;
    }
}
