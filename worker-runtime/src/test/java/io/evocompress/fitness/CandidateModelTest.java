package io.evocompress.fitness;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.evocompress.Fixtures;
import io.evocompress.ModelFixtures;
import io.evocompress.calibration.CalibrationFixtures;
import io.evocompress.database.LayerVariant;
import io.evocompress.model.CausalLm;
import io.evocompress.model.LinearName;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Stitching: a candidate model computes exactly what a model with those layers replaced by hand computes. */
class CandidateModelTest {
    private static final String SOURCE = "memory";

    private static CandidateModel fresh(VariantArrayCache cache) {
        return new CandidateModel(CalibrationFixtures.load(Fixtures.stories260k()), true, SOURCE,
            new FitnessFixtures.MapSource(), cache);
    }

    private static float[] logits(CandidateModel m, int[] ids) {
        try (NDManager scope = m.model().manager().newSubManager()) {
            return m.logits(scope.create(ids, new Shape(1, ids.length))).toFloatArray();
        }
    }

    private static float[] logits(CausalLm m, int[] ids) {
        try (NDManager scope = m.manager().newSubManager()) {
            return m.logits(scope.create(ids, new Shape(1, ids.length))).toFloatArray();
        }
    }

    /** A random candidate: each layer at level -1, 0, +1 or dense. */
    static CandidateSpec randomSpec(long seed) {
        Random r = new Random(seed);
        Map<String, Integer> levels = new HashMap<>();
        for (String layer : FitnessFixtures.layers()) {
            int pick = r.nextInt(4);
            if (pick < 3) {
                levels.put(layer, FitnessFixtures.LEVELS[pick]);
            }
        }
        return CandidateSpec.ofLevels(levels);
    }

    /** The dense model with the spec's layers replaced by hand from the variants' dense() weights. */
    static CausalLm byHand(CandidateSpec spec) {
        CausalLm lm = CalibrationFixtures.load(Fixtures.stories260k());
        for (int b = 0; b < lm.numBlocks(); b++) {
            for (LinearName n : LinearName.values()) {
                Integer level = spec.level(CandidateSpec.layerName(b, n));
                if (level != null) {
                    LayerVariant v = FitnessFixtures.variants().get(CandidateSpec.layerName(b, n)).get(level);
                    try (NDManager m = lm.manager().newSubManager()) {
                        lm.block(b).replaceLinear(n, m.create(v.dense(), new Shape(v.rows(), v.cols()))).close();
                    }
                }
            }
        }
        return lm;
    }

    @Test
    void everyLayerAtALevelEqualsReplacingByHand() {
        int[] ids = ModelFixtures.referenceIds();
        Map<String, Integer> all = new HashMap<>();
        FitnessFixtures.layers().forEach(l -> all.put(l, 1));
        CandidateSpec spec = CandidateSpec.ofLevels(all);
        try (VariantArrayCache cache = new VariantArrayCache(1L << 30);
             CandidateModel candidate = fresh(cache);
             CausalLm manual = byHand(spec);
             CausalLm dense = CalibrationFixtures.load(Fixtures.stories260k())) {
            assertEquals(35, candidate.apply(spec));
            float[] got = logits(candidate, ids);
            assertTrue(ModelFixtures.maxAbsDiff(got, logits(manual, ids)) <= 1e-5);
            // and 70% sparsity everywhere really changed the model
            assertTrue(ModelFixtures.maxAbsDiff(got, logits(dense, ids)) > 0.1);
            // the weights in the model are the variant's, exactly
            LayerVariant v = FitnessFixtures.variants().get("model.layers.2.mlp.down_proj").get(1);
            assertArrayEquals(v.dense(), candidate.model().block(2).weight(LinearName.DOWN_PROJ).toFloatArray());
            assertEquals(35, cache.misses());
        }
    }

    @Test
    void applyingAThenBEqualsBOnAFreshModelAndDenseRestoresExactly() {
        int[] ids = ModelFixtures.referenceIds();
        CandidateSpec a = randomSpec(1);
        CandidateSpec b = randomSpec(2);
        try (VariantArrayCache cache = new VariantArrayCache(1L << 30);
             CandidateModel stitched = fresh(cache);
             CandidateModel onlyB = fresh(cache);
             CausalLm dense = CalibrationFixtures.load(Fixtures.stories260k())) {
            float[] denseLogits = logits(dense, ids);
            assertArrayEquals(denseLogits, logits(stitched, ids));
            int arrays = managed(stitched); // weights and the attention inputs of this length
            stitched.apply(a);
            float[] logitsA = logits(stitched, ids);
            int changed = stitched.apply(b);
            long differing = FitnessFixtures.layers().stream()
                .filter(l -> !java.util.Objects.equals(a.level(l), b.level(l))).count();
            assertEquals(differing, changed, "only the layers that differ are swapped");
            onlyB.apply(b);
            assertArrayEquals(logits(onlyB, ids), logits(stitched, ids));
            assertEquals(b, stitched.applied());
            assertTrue(ModelFixtures.maxAbsDiff(logitsA, logits(stitched, ids)) > 1e-3);
            stitched.restoreDense();
            assertArrayEquals(denseLogits, logits(stitched, ids));
            assertEquals(arrays, managed(stitched), "no array leaked in the model's manager");
            assertEquals(0, stitched.apply(CandidateSpec.dense()));
        }
    }

    @Test
    void droppedBlockHalvesEqualRunBlocksWithTheSameFlags() {
        int[] ids = ModelFixtures.referenceIds();
        boolean[] attention = {false, true, false, false, true};
        boolean[] mlp = {false, false, true, false, false};
        try (VariantArrayCache cache = new VariantArrayCache(1L << 30);
             CandidateModel candidate = fresh(cache);
             CausalLm dense = CalibrationFixtures.load(Fixtures.stories260k());
             NDManager m = dense.manager().newSubManager()) {
            candidate.apply(CandidateSpec.ofDepth(attention, mlp));
            NDArray h = dense.runBlocks(dense.embed(m.create(ids, new Shape(1, ids.length))), 0, dense.numBlocks(),
                attention, mlp);
            float[] expected = dense.head(h).toFloatArray();
            float[] got = logits(candidate, ids);
            assertArrayEquals(expected, got);
            assertTrue(ModelFixtures.maxAbsDiff(got, logits(dense, ids)) > 0.1);
            // flags combine with levels; dropping nothing is the dense model again
            candidate.apply(CandidateSpec.ofDepth(new boolean[5], new boolean[5]));
            assertArrayEquals(logits(dense, ids), logits(candidate, ids));
        }
    }

    @Test
    void specsTheModelCannotComputeAreRejectedWithTheirName() {
        try (VariantArrayCache cache = new VariantArrayCache(1L << 30); CandidateModel candidate = fresh(cache)) {
            var e = assertThrows(io.evocompress.EvocompressException.class,
                () -> candidate.apply(CandidateSpec.ofLevels(Map.of("model.layers.9.self_attn.q_proj", 0))));
            assertTrue(e.getMessage().contains("model.layers.9.self_attn.q_proj"), e.getMessage());
            assertThrows(io.evocompress.EvocompressException.class,
                () -> candidate.apply(CandidateSpec.ofDepth(new boolean[3], new boolean[3])));
            assertThrows(io.evocompress.EvocompressException.class,
                () -> candidate.apply(CandidateSpec.ofLevels(Map.of("model.layers.0.mlp.up_proj", 5))));
            assertEquals(CandidateSpec.dense(), candidate.applied());
        }
    }

    @Test
    void theVariantCacheStaysWithinItsBoundAndNeverHandsOutItsOwnArrays() {
        LayerVariant q = FitnessFixtures.variants().get("model.layers.0.self_attn.q_proj").get(0);
        long one = 4L * q.rows() * q.cols();
        try (VariantArrayCache cache = new VariantArrayCache(2 * one);
             NDManager owner = NDManager.newBaseManager(ai.djl.Device.cpu())) {
            for (int level : FitnessFixtures.LEVELS) {
                NDArray copy = cache.copy(SOURCE, new FitnessFixtures.MapSource(), "model.layers.0.self_attn.q_proj", level,
                    ai.djl.ndarray.types.DataType.FLOAT32, owner);
                assertEquals(owner, copy.getManager());
                copy.close(); // the cached array survives its copies
            }
            assertEquals(2 * one, cache.bytes());
            NDArray again = cache.copy(SOURCE, new FitnessFixtures.MapSource(), "model.layers.0.self_attn.q_proj", 1,
                ai.djl.ndarray.types.DataType.FLOAT32, owner);
            assertArrayEquals(FitnessFixtures.variants().get("model.layers.0.self_attn.q_proj").get(1).dense(),
                again.toFloatArray());
            assertEquals(1, cache.hits());
            assertEquals(3, cache.misses());
        }
    }

    @Test
    void genomeDecodersMapUnitsToLayersOrBlockHalves() {
        List<String> layers = GenomeDecoder.allLinearLayers(2);
        assertEquals(14, layers.size());
        assertEquals("model.layers.1.mlp.down_proj", layers.get(13));
        CandidateSpec s = GenomeDecoder.levels(layers).decode(new int[] {-1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
        assertEquals(-1, s.level("model.layers.0.self_attn.q_proj"));
        assertEquals(12, s.level("model.layers.1.mlp.down_proj"));
        CandidateSpec d = GenomeDecoder.depth(3).decode(new int[] {0, 1, 0, 1, 0, 0});
        assertArrayEquals(new boolean[] {false, true, false}, d.skipAttention());
        assertArrayEquals(new boolean[] {true, false, false}, d.skipMlp());
        assertThrows(io.evocompress.EvocompressException.class, () -> GenomeDecoder.depth(3).decode(new int[5]));
        assertNotEquals(GenomeDecoder.depth(3), GenomeDecoder.depth(4));
        // whole blocks: one flag per block drops both halves, the same candidate as both half flags set
        GenomeDecoder whole = GenomeDecoder.depth(3, true);
        assertEquals(3, whole.units());
        assertEquals(GenomeDecoder.depth(3).decode(new int[] {0, 1, 1, 0, 1, 1}), whole.decode(new int[] {0, 1, 1}));
        assertNotEquals(GenomeDecoder.depth(3), whole);
        assertArrayEquals(new int[] {0, 1, 1}, whole.encode(whole.decode(new int[] {0, 1, 1})));
        assertThrows(io.evocompress.EvocompressException.class, () -> whole.encode(d), "d drops halves apart");
    }

    private static int managed(CandidateModel m) {
        return ((ai.djl.ndarray.BaseNDManager) m.model().manager()).getManagedArrays().size();
    }
}
