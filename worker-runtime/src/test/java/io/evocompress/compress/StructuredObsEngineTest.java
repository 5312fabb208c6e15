package io.evocompress.compress;

import io.evocompress.calibration.Hessian;
import io.evocompress.compress.RealLayers.Layer;
import io.evocompress.model.LinearName;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The engine's lazy structured OBS loop ({@link StructuredObsSweep}) against the eager float64 Java
 * loop it replaced ({@link StructuredObs#reference}): the same structures removed in the same order,
 * error estimates within 1e-6 and weights within 1e-5, at every level. On every down_proj (neurons)
 * and o_proj (heads) of stories260K and babyllama105 with real calibration inputs, and on a random
 * layer wide enough that the stacked downdates are flushed several times between snapshots.
 */
class StructuredObsEngineTest {
    /** Both fixture models have 8 attention heads (config.json num_attention_heads). */
    private static final int HEADS = 8;

    @Test
    void engineLoopRemovesWhatTheJavaLoopRemovesOnRealLayers() {
        int compared = 0;
        for (Layer layer : RealLayers.all()) {
            if (layer.name() != LinearName.DOWN_PROJ && layer.name() != LinearName.O_PROJ) {
                continue;
            }
            int width = layer.name() == LinearName.O_PROJ ? layer.cols() / HEADS : 1;
            int structures = layer.cols() / width;
            int[] levels = StructuredObs.levelsInSteps(structures, 10);
            compare(layer.toString(), layer.weight(), layer.rows(), layer.calibration().hessian(), width, levels);
            compared++;
        }
        System.out.println(compared + " real layers: engine structured OBS equals the Java loop");
    }

    @Test
    void engineLoopRemovesWhatTheJavaLoopRemovesAcrossFlushes() {
        SplittableRandom random = new SplittableRandom(11);
        int n = 640;
        int rows = 24;
        int tokens = 2 * n;
        double[] x = new double[tokens * n];
        for (int t = 0; t < tokens; t++) {
            double shared = random.nextGaussian();
            for (int j = 0; j < n; j++) {
                x[t * n + j] = (random.nextGaussian() + 0.5 * shared) * Math.exp(0.5 * random.nextGaussian());
            }
        }
        double[] h = new double[n * n];
        for (int t = 0; t < tokens; t++) {
            for (int i = 0; i < n; i++) {
                double xi = x[t * n + i] * 2.0 / tokens;
                for (int j = 0; j < n; j++) {
                    h[i * n + j] += xi * x[t * n + j];
                }
            }
        }
        Hessian hessian = new Hessian(n, tokens, h);
        float[] w = new float[rows * n];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) (0.02 * random.nextGaussian());
        }
        compare("random 24 x 640, neurons", w, rows, hessian, 1, new int[] {0, 200, 300, 600, 639});
        compare("random 24 x 640, width 8", w, rows, hessian, 8, new int[] {10, 40, 79});
    }

    private static void compare(String what, float[] w, int rows, Hessian h, int width, int[] levels) {
        List<StructuredSnapshot> engine = StructuredObs.prune(w, rows, h, width, levels, StructuredObs.DAMP_RATIO);
        List<StructuredSnapshot> java = StructuredObs.reference(w, rows, h, width, levels, StructuredObs.DAMP_RATIO);
        assertEquals(java.size(), engine.size());
        for (int i = 0; i < java.size(); i++) {
            StructuredSnapshot a = engine.get(i);
            StructuredSnapshot b = java.get(i);
            String at = what + " at level " + levels[i];
            assertArrayEquals(b.removed(), a.removed(), at + ": removal order");
            assertEquals(b.errorEstimate(), a.errorEstimate(), 1e-6 * Math.max(b.errorEstimate(), 1e-12), at + ": estimate");
            float[] wa = a.weight();
            float[] wb = b.weight();
            double scale = 0;
            for (float v : wb) {
                scale = Math.max(scale, Math.abs(v));
            }
            for (int k = 0; k < wb.length; k++) {
                assertEquals(wb[k], wa[k], 1e-5 * scale, at + ": weight " + k);
            }
        }
    }
}
