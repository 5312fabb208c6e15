package io.evocompress.baselines;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.evocompress.Fixtures;
import io.evocompress.ModelFixtures;
import io.evocompress.checkpoint.CheckpointReader;
import io.evocompress.model.CausalLm;
import io.evocompress.model.ModelLoader;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BaselinesTest {
    @Test
    void owlOutlierRatioCountsScoresAboveMTimesTheBlockMean() {
        // Scores |w| * norm: layer 1 = {1, 1, 1, 13} (norms 1), layer 2 = {2, 2} (norm 1 each, weights 2).
        // mean = (1 + 1 + 1 + 13 + 2 + 2) / 6 = 20/6; M = 3 -> threshold 10: one score above -> 100/6 %.
        OwlAllocation.Layer a = new OwlAllocation.Layer(2, 2, new float[] {1, -1, 1, 13}, new double[] {1, 1});
        OwlAllocation.Layer b = new OwlAllocation.Layer(1, 2, new float[] {2, -2}, new double[] {1, 1});
        assertEquals(100.0 / 6, OwlAllocation.outlierRatio(List.of(a, b), 3), 1e-12);
        // The input norm scales a column's scores: norms {1, 0.1} take 13 -> 1.3, none above 3 * mean.
        OwlAllocation.Layer c = new OwlAllocation.Layer(2, 2, new float[] {1, -1, 1, 13}, new double[] {1, 0.1});
        assertEquals(0.0, OwlAllocation.outlierRatio(List.of(c), 3), 0);
    }

    @Test
    void owlSparsitiesFollowTheClosedForm() {
        double[] d = {1, 2, 5};
        double lambda = 0.08;
        double[] s = OwlAllocation.sparsities(d, 0.7, lambda);
        // r = (0, 0.25, 1) * 0.16 = (0, 0.04, 0.16), mean 0.0666..; density = r - mean + 0.3
        double mean = (0 + 0.04 + 0.16) / 3;
        assertArrayEquals(new double[] {1 - (0 - mean + 0.3), 1 - (0.04 - mean + 0.3), 1 - (0.16 - mean + 0.3)}, s, 1e-12);
        assertEquals(0.7, Arrays.stream(s).average().orElseThrow(), 1e-12);
        assertTrue(s[2] < s[1] && s[1] < s[0], "more outliers, lower sparsity");
        assertArrayEquals(new double[] {0.5, 0.5}, OwlAllocation.sparsities(new double[] {3, 3}, 0.5, lambda), 0);
    }

    @Test
    void blockSimilarityMatchesAHandComputedCosine() {
        int[] ids = Arrays.copyOf(ModelFixtures.referenceIds(), 64);
        try (CheckpointReader ckpt = CheckpointReader.open(Fixtures.stories260k().toString());
             CausalLm model = ModelLoader.load(ckpt, Device.cpu(), DataType.FLOAT32);
             NDManager m = NDManager.newBaseManager(Device.cpu())) {
            double[] cos = BlockSimilarity.cosine(model, List.of(ids));
            assertEquals(model.numBlocks(), cos.length);
            // Block 2 by hand, token by token in double precision.
            NDArray h = model.runBlocks(model.embed(m.create(ids, new Shape(1, ids.length))), 0, 2);
            float[] in = h.toFloatArray();
            float[] out = model.runBlocks(h, 2, 3).toFloatArray();
            int hidden = model.config().hiddenSize();
            double sum = 0;
            for (int t = 0; t < ids.length; t++) {
                double dot = 0, na = 0, nb = 0;
                for (int j = 0; j < hidden; j++) {
                    double x = in[t * hidden + j], y = out[t * hidden + j];
                    dot += x * y;
                    na += x * x;
                    nb += y * y;
                }
                sum += dot / Math.sqrt(na * nb);
            }
            assertEquals(sum / ids.length, cos[2], 1e-5);
            for (double c : cos) {
                assertTrue(c > -1 && c < 1, "cosine in (-1, 1): " + c);
            }
        }
        assertEquals(List.of(1, 3), BlockSimilarity.blocksToDrop(new double[] {0.1, 0.9, 0.5, 0.9, 0.2}, 2));
    }
}
