package io.evocompress.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.evocompress.Fixtures;
import io.evocompress.checkpoint.CheckpointReader;
import io.evocompress.checkpoint.CheckpointWriter;
import io.evocompress.checkpoint.DType;
import io.evocompress.checkpoint.SafetensorsFile;
import io.evocompress.data.TokenIdsFile;
import io.evocompress.fs.HadoopFiles;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The OPT, BLOOM and Phi-3 forwards against {@link NaiveFamilyForward}: first the naive forward
 * itself against each fixture's float64 reference, then tiny random checkpoints for the paths the
 * fixtures do not take.
 */
class FamilyForwardTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int VOCAB = 50;

    @ParameterizedTest
    @ValueSource(strings = {"tiny-opt", "tiny-bloom", "tiny-phi3"})
    void naiveForwardMatchesTheFixtureReference(String fixture) {
        java.nio.file.Path dir = Fixtures.model(fixture);
        Path refFile = HadoopFiles.path(dir.resolve("reference_logits.safetensors").toString());
        FileSystem fs = HadoopFiles.fileSystem(refFile, HadoopFiles.defaultConf());
        int[] ids = java.util.Arrays.copyOf(TokenIdsFile.read(fs, refFile), 40);
        float[] expected;
        try (SafetensorsFile ref = SafetensorsFile.open(fs, refFile)) {
            expected = ref.readFloat(ref.info("logits"));
        }
        try (CheckpointReader ckpt = CheckpointReader.open(dir.toString())) {
            double[][] naive = new NaiveFamilyForward(ckpt).logits(ids);
            double max = 0;
            for (int t = 0; t < ids.length; t++) {
                for (int v = 0; v < 512; v++) {
                    max = Math.max(max, Math.abs(naive[t][v] - expected[t * 512 + v]));
                }
            }
            assertTrue(max < 1e-5, fixture + ": naive vs float64 reference " + max);
        }
    }

    @Test
    void optPostLayerNormWithProjectInAndOut(@TempDir java.nio.file.Path tmp) {
        ObjectNode c = opt();
        c.put("do_layer_norm_before", false);
        c.put("word_embed_proj_dim", 24);
        assertMatchesNaive(tmp, c, 20);
    }

    @Test
    void optPreLayerNormWithUntiedHead(@TempDir java.nio.file.Path tmp) {
        ObjectNode c = opt();
        c.put("tie_word_embeddings", false);
        assertMatchesNaive(tmp, c, 20);
    }

    @Test
    void bloomWithSixHeadsUsesTheExtraAlibiSlopes(@TempDir java.nio.file.Path tmp) {
        assertEquals(List.of(0.25, 0.0625, 0.015625, 0.00390625, 0.5, 0.125),
            java.util.Arrays.stream(Alibi.slopes(6)).boxed().toList());
        assertMatchesNaive(tmp, bloom(36, 6, true), 20);
    }

    /**
     * DarwinLM's BLOOM blocks: layer 0 keeps heads 1, 4, 5 of 6 and 100 of 144 neurons, layer 1 heads 0,
     * 2, 3, 5 and 37 neurons. query_key_value holds only the kept heads' [q; k; v] rows, each head keeps
     * the ALiBi slope of its dense index (6 heads: the extra slopes), and the naive forward reads the
     * kept heads from config.json itself. Zero-padded back to the dense layout (what darwin's
     * model-padded/ holds) the model computes the same logits.
     */
    @Test
    void bloomBlocksWithHeadsRemovedKeepTheirSlopesAndDropTheirKeysAndValues(@TempDir java.nio.file.Path tmp) {
        ObjectNode c = bloom(36, 6, true);
        ArrayNode kept = c.putArray(LayerShapes.KEPT_HEADS);
        kept.addArray().add(1).add(4).add(5);
        kept.addArray().add(0).add(2).add(3).add(5);
        c.putArray(LayerShapes.INTERMEDIATE).add(100).add(37);
        ModelConfig parsed = ArchitectureRegistry.parseConfig(c.toString(), "bloom test config");
        List<BlockShape> shapes = LayerShapes.parse(c.toString(), parsed, "bloom test config");
        TensorLayout layout = TensorLayout.of(parsed, shapes);
        assertEquals(List.of(54L, 36L), java.util.Arrays.stream(layout.shape("transformer.h.0.self_attention.query_key_value.weight"))
            .boxed().toList(), "3 kept heads x [q; k; v] x head_dim 6 rows");
        assertEquals(List.of(36L, 24L), java.util.Arrays.stream(layout.shape("transformer.h.1.self_attention.dense.weight"))
            .boxed().toList());
        float[] naive = assertMatchesNaive(tmp, c, 20);

        Path dir = HadoopFiles.path(tmp.resolve("bloom").toString());
        try (CheckpointReader ckpt = CheckpointReader.open(dir, HadoopFiles.defaultConf());
             CausalLm model = ModelLoader.load(ckpt, Device.cpu(), DataType.FLOAT32);
             NDManager m = NDManager.newBaseManager(Device.cpu())) {
            assertEquals(shapes, model.blockShapes());
            long stored = 0;
            for (String name : ckpt.tensorFiles().keySet()) {
                stored += java.util.Arrays.stream(ckpt.info(name).shape()).reduce(1, (a, b) -> a * b);
            }
            assertEquals(stored, model.parameterCount(), "parameterCount counts exactly the stored tensors");
            List<int[]> neurons = List.of(spread(100, 144), spread(37, 144));
            java.util.Map<String, float[]> units = TensorLayout.readUnits(ckpt);
            java.util.Map<String, float[]> padded = io.evocompress.structured.ZeroPadding.pad(parsed, shapes, neurons, units::get);
            ObjectNode dense = c.deepCopy();
            dense.remove(LayerShapes.KEPT_HEADS);
            dense.remove(LayerShapes.INTERMEDIATE);
            try (CausalLm p = ModelLoader.load(dense.toString(), "padded", padded::get, Device.cpu(), DataType.FLOAT32)) {
                int[] ids = ids(20);
                float[] actual = p.logits(m.create(ids, new Shape(1, ids.length))).toFloatArray();
                double max = 0;
                for (int i = 0; i < actual.length; i++) {
                    max = Math.max(max, Math.abs(actual[i] - naive[i]));
                }
                assertTrue(max < 1e-4, "zero-padded vs naive pruned: " + max);
            }
        }
    }

    /** n ascending indices spread over [0, total). */
    private static int[] spread(int n, int total) {
        return java.util.stream.IntStream.range(0, n).map(i -> (int) ((long) i * total / n)).toArray();
    }

    @Test
    void bloomWithUntiedHead(@TempDir java.nio.file.Path tmp) {
        assertMatchesNaive(tmp, bloom(32, 4, false), 20);
    }

    @Test
    void phi3LongropeActiveBeyondTheOriginalContext(@TempDir java.nio.file.Path tmp) {
        ObjectNode c = phi3(true);
        assertMatchesNaive(tmp, c, 20);   // 20 > original_max_position_embeddings 8: long factors
    }

    @Test
    void phi3LongropeInactiveWithinTheOriginalContext(@TempDir java.nio.file.Path tmp) {
        ObjectNode c = phi3(true);
        assertMatchesNaive(tmp, c, 8);    // 8 <= 8: short factors, attention factor still applied
    }

    @Test
    void phi3WithoutScalingAndATiedHead(@TempDir java.nio.file.Path tmp) {
        ObjectNode c = phi3(false);
        c.put("tie_word_embeddings", true);
        assertMatchesNaive(tmp, c, 20);
    }

    @Test
    void longropeAttentionFactorIsHuggingFaces() {
        RopeScaling r = RopeScaling.longrope(new double[] {1}, new double[] {2}, 131072, 4096, null);
        assertEquals(32.0, r.factor());
        assertEquals(Math.sqrt(1 + Math.log(32) / Math.log(4096)), r.attentionFactor(), 1e-15);
        assertEquals(1.0, RopeScaling.longrope(new double[] {1}, new double[] {2}, 4096, 4096, null).attentionFactor());
        assertEquals(0.7, RopeScaling.longrope(new double[] {1}, new double[] {2}, 8192, 4096, 0.7).attentionFactor());
    }

    private static ObjectNode opt() {
        ObjectNode c = JSON.createObjectNode();
        c.put("model_type", "opt");
        c.put("hidden_size", 32);
        c.put("ffn_dim", 48);
        c.put("num_hidden_layers", 2);
        c.put("num_attention_heads", 4);
        c.put("vocab_size", VOCAB);
        c.put("max_position_embeddings", 64);
        c.put("activation_function", "relu");
        c.put("do_layer_norm_before", true);
        c.put("word_embed_proj_dim", 32);
        c.put("enable_bias", true);
        c.put("layer_norm_elementwise_affine", true);
        c.put("tie_word_embeddings", true);
        return c;
    }

    private static ObjectNode bloom(int hidden, int heads, boolean tied) {
        ObjectNode c = JSON.createObjectNode();
        c.put("model_type", "bloom");
        c.put("hidden_size", hidden);
        c.put("n_head", heads);
        c.put("n_layer", 2);
        c.put("vocab_size", VOCAB);
        c.put("layer_norm_epsilon", 1e-5);
        c.put("pretraining_tp", 1);
        c.put("slow_but_exact", false);
        c.put("apply_residual_connection_post_layernorm", false);
        c.put("tie_word_embeddings", tied);
        return c;
    }

    private static ObjectNode phi3(boolean longrope) {
        ObjectNode c = JSON.createObjectNode();
        c.put("model_type", "phi3");
        c.put("hidden_size", 32);
        c.put("intermediate_size", 40);
        c.put("num_hidden_layers", 2);
        c.put("num_attention_heads", 4);
        c.put("num_key_value_heads", 2);
        c.put("vocab_size", VOCAB);
        c.put("hidden_act", "silu");
        c.put("rms_norm_eps", 1e-5);
        c.put("rope_theta", 10000.0);
        c.put("tie_word_embeddings", false);
        c.put("max_position_embeddings", longrope ? 32 : 64);
        c.put("original_max_position_embeddings", longrope ? 8 : 64);
        if (longrope) {
            ObjectNode s = c.putObject("rope_scaling");
            s.put("type", "longrope");
            ArrayNode shortF = s.putArray("short_factor");
            ArrayNode longF = s.putArray("long_factor");
            for (double f : new double[] {1.0, 1.3, 1.7, 2.2}) {
                shortF.add(f);
            }
            for (double f : new double[] {1.5, 3.0, 6.0, 12.0}) {
                longF.add(f);
            }
        } else {
            c.putNull("rope_scaling");
        }
        return c;
    }

    /**
     * Writes a tiny random checkpoint of the config (per-layer shapes included, {@link LayerShapes}) to
     * tmp/model_type, runs both forwards on {@code length} tokens ({@link #ids}), compares logits and
     * returns the naive ones, row-major.
     */
    private static float[] assertMatchesNaive(java.nio.file.Path tmp, ObjectNode config, int length) {
        String type = config.get("model_type").asText();
        ModelConfig parsed = ArchitectureRegistry.parseConfig(config.toString(), type + " test config");
        List<CheckpointWriter.Tensor> tensors = new ArrayList<>();
        SplittableRandom random = new SplittableRandom(11);
        TensorLayout.of(parsed, LayerShapes.parse(config.toString(), parsed, type + " test config")).shapes().forEach((name, shape) -> {
            long n = 1;
            for (long s : shape) {
                n *= s;
            }
            float[] values = new float[(int) n];
            boolean normWeight = shape.length == 1 && name.endsWith(".weight");
            for (int i = 0; i < values.length; i++) {
                values[i] = normWeight ? (float) (1 + 0.2 * (random.nextDouble() - 0.5))
                    : (float) (random.nextDouble() - 0.5) * 0.6f;
            }
            tensors.add(new CheckpointWriter.Tensor(name, shape, () -> values));
        });
        Path out = HadoopFiles.path(tmp.resolve(type).toString());
        FileSystem fs = HadoopFiles.fileSystem(out, HadoopFiles.defaultConf());
        new CheckpointWriter(DType.F32, 1, false).write(fs, out, config.toString(), tensors, null, null);

        int[] ids = ids(length);
        float[] naiveLogits = new float[length * VOCAB];
        try (CheckpointReader ckpt = CheckpointReader.open(out, HadoopFiles.defaultConf());
             CausalLm model = ModelLoader.load(ckpt, Device.cpu(), DataType.FLOAT32);
             NDManager m = NDManager.newBaseManager(Device.cpu())) {
            double[][] naive = new NaiveFamilyForward(ckpt).logits(ids);
            float[] actual = model.logits(m.create(ids, new Shape(1, ids.length))).toFloatArray();
            double max = 0;
            double spread = 0;
            for (int t = 0; t < ids.length; t++) {
                for (int v = 0; v < VOCAB; v++) {
                    max = Math.max(max, Math.abs(actual[t * VOCAB + v] - naive[t][v]));
                    spread = Math.max(spread, Math.abs(naive[t][v]));
                    naiveLogits[t * VOCAB + v] = (float) naive[t][v];
                }
            }
            assertTrue(spread > 0.5, "test model too weak to discriminate: max |logit| " + spread);
            assertTrue(max < 1e-4, config + ": max |DJL - naive| = " + max);
        }
        return naiveLogits;
    }

    /** {@code length} token ids, the same for every call of one length. */
    private static int[] ids(int length) {
        SplittableRandom random = new SplittableRandom(12);
        int[] ids = new int[length];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = random.nextInt(VOCAB);
        }
        return ids;
    }
}
