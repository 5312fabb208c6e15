package io.evocompress.export;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.evocompress.EvocompressException;
import io.evocompress.Fixtures;
import io.evocompress.ModelFixtures;
import io.evocompress.checkpoint.CheckpointReader;
import io.evocompress.checkpoint.DType;
import io.evocompress.database.LayerVariant;
import io.evocompress.fitness.VariantSource;
import io.evocompress.fs.HadoopFiles;
import io.evocompress.model.CausalLm;
import io.evocompress.model.ModelLoader;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.util.Arrays;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class StitchedCheckpointTest {
    @TempDir
    java.nio.file.Path tmp;

    private static final String Q0 = "model.layers.0.self_attn.q_proj";
    private static final String DOWN2 = "model.layers.2.mlp.down_proj";

    /** A variant source that zeroes every second weight of the dense layer (level 1) or every third (level 2). */
    private static VariantSource everyNth(CheckpointReader dense) {
        return (layer, level) -> {
            long[] shape = dense.info(layer + ".weight").shape();
            float[] w = dense.readFloat(layer + ".weight");
            for (int i = 0; i < w.length; i += level + 1) {
                w[i] = 0;
            }
            return new LayerVariant.Sparse((int) shape[0], (int) shape[1], w);
        };
    }

    @Test
    void variantsReplaceTheirLayersAndEverythingElseIsCopied() throws Exception {
        try (CheckpointReader dense = CheckpointReader.open(Fixtures.stories260k().toString())) {
            Path out = new Path(tmp.resolve("stitched").toString());
            FileSystem fs = HadoopFiles.fileSystem(out, HadoopFiles.defaultConf());
            StitchedCheckpoint.write(dense, everyNth(dense), new StitchedCheckpoint.Profile(Map.of(Q0, 1, DOWN2, 2), null, null),
                fs, out, DType.F32, false, null);
            try (CheckpointReader stitched = CheckpointReader.open(out.toString())) {
                assertArrayEquals(everyNth(dense).variant(Q0, 1).dense(), stitched.readFloat(Q0 + ".weight"));
                assertArrayEquals(everyNth(dense).variant(DOWN2, 2).dense(), stitched.readFloat(DOWN2 + ".weight"));
                String k0 = "model.layers.0.self_attn.k_proj.weight";
                assertArrayEquals(dense.readFloat(k0), stitched.readFloat(k0));
                assertEquals(dense.tensorFiles().keySet(), stitched.tensorFiles().keySet());
                assertTrue(fs.exists(new Path(out, "tokenizer.json")));
            }
        }
    }

    /**
     * A dense tensor larger than one slice (BLOOM-176B's embedding in production; here stories260K's 512 x 64
     * embedding and 172 x 64 MLP weights with 40,000-byte slices) is copied in row slices: the same file, byte
     * for byte, in float32 and bf16, as the whole-tensor copy.
     */
    @Test
    void tensorsOverOneSliceAreCopiedInSlicesToTheSameBytes() throws Exception {
        try (CheckpointReader dense = CheckpointReader.open(Fixtures.stories260k().toString())) {
            FileSystem fs = HadoopFiles.fileSystem(new Path(tmp.toString()), HadoopFiles.defaultConf());
            StitchedCheckpoint.Profile profile = new StitchedCheckpoint.Profile(Map.of(Q0, 1), null, null);
            for (DType dtype : new DType[] {DType.F32, DType.BF16}) {
                Path whole = new Path(tmp.resolve("whole-" + dtype).toString());
                Path sliced = new Path(tmp.resolve("sliced-" + dtype).toString());
                int[] progress = {0, 0};
                StitchedCheckpoint.write(dense, everyNth(dense), profile, fs, whole, dtype, false, n -> progress[0] = n);
                io.evocompress.model.SlicedTensorTest.withSlices(() -> {
                    assertTrue(io.evocompress.model.RowSlices.sliced(dense.info("model.embed_tokens.weight").shape()));
                    StitchedCheckpoint.write(dense, everyNth(dense), profile, fs, sliced, dtype, false, n -> progress[1] = n);
                    return null;
                });
                assertArrayEquals(java.nio.file.Files.readAllBytes(java.nio.file.Path.of(whole.toString(), "model.safetensors")),
                    java.nio.file.Files.readAllBytes(java.nio.file.Path.of(sliced.toString(), "model.safetensors")),
                    dtype.toString());
                assertEquals(progress[0], progress[1]);
            }
        }
    }

    @Test
    void droppedHalvesPassThroughAndFullyDroppedBlocksAreRemoved() {
        int[] ids = Arrays.copyOf(ModelFixtures.referenceIds(), 48);
        boolean[] dropA = {false, true, false, false, true};
        boolean[] dropM = {false, false, false, true, true};
        try (CheckpointReader dense = CheckpointReader.open(Fixtures.stories260k().toString());
             CausalLm model = ModelLoader.load(dense, Device.cpu(), DataType.FLOAT32);
             NDManager m = NDManager.newBaseManager(Device.cpu())) {
            float[] expected = model.head(model.runBlocks(model.embed(m.create(ids, new Shape(1, ids.length))), 0, 5, dropA, dropM))
                .toFloatArray();
            Path out = new Path(tmp.resolve("shallow").toString());
            FileSystem fs = HadoopFiles.fileSystem(out, HadoopFiles.defaultConf());
            StitchedCheckpoint.write(dense, everyNth(dense), new StitchedCheckpoint.Profile(Map.of(), dropA, dropM),
                fs, out, DType.F32, false, null);
            try (CheckpointReader shallow = CheckpointReader.open(out.toString())) {
                assertEquals(4, ModelLoader.config(shallow).numLayers());
                float[] actual = ModelFixtures.logits(shallow, ids);
                assertTrue(ModelFixtures.maxAbsDiff(expected, actual) < 1e-5, "max diff " + ModelFixtures.maxAbsDiff(expected, actual));
            }
        }
    }

    @Test
    void unknownLayersAreAnErrorAndNothingIsWritten() {
        try (CheckpointReader dense = CheckpointReader.open(Fixtures.stories260k().toString())) {
            Path out = new Path(tmp.resolve("bad").toString());
            FileSystem fs = HadoopFiles.fileSystem(out, HadoopFiles.defaultConf());
            EvocompressException e = assertThrows(EvocompressException.class, () -> StitchedCheckpoint.write(dense, everyNth(dense),
                new StitchedCheckpoint.Profile(Map.of("model.layers.9.mlp.up_proj", 0), null, null), fs, out, DType.F32, false, null));
            assertTrue(e.getMessage().contains("model.layers.9.mlp.up_proj"), e.getMessage());
            assertTrue(!new java.io.File(out.toString()).exists());
        }
    }

    /** A quantized variant of the dense layer: 4-bit codes from a per-row grid in groups of {@code group}, every 3rd weight pruned. */
    private static LayerVariant.Quantized quantized(CheckpointReader dense, String layer, int group) {
        long[] shape = dense.info(layer + ".weight").shape();
        int rows = (int) shape[0];
        int cols = (int) shape[1];
        int groups = LayerVariant.Quantized.groups(cols, group);
        java.util.Random rnd = new java.util.Random(layer.hashCode());
        int[] q = new int[rows * cols];
        float[] scales = new float[rows * groups];
        int[] zeros = new int[rows * groups];
        boolean[] mask = new boolean[rows * cols];
        for (int i = 0; i < q.length; i++) {
            q[i] = rnd.nextInt(16);
            mask[i] = i % 3 != 0;
        }
        for (int i = 0; i < scales.length; i++) {
            scales[i] = io.evocompress.checkpoint.Float16.f16ToFloat(io.evocompress.checkpoint.Float16.floatToF16(
                (float) (0.001 + 0.01 * rnd.nextDouble())));
            zeros[i] = 4 + rnd.nextInt(8);
        }
        return new LayerVariant.Quantized(rows, cols, 4, group, q, scales, zeros, mask);
    }

    @Test
    void compressedTensorsKeepsVllmGroupsExactAndRequantizesTheRestPerChannel() throws Exception {
        try (CheckpointReader dense = CheckpointReader.open(Fixtures.stories260k().toString())) {
            Map<String, LayerVariant.Quantized> variants = Map.of(Q0, quantized(dense, Q0, 32), DOWN2, quantized(dense, DOWN2, 128));
            Path out = new Path(tmp.resolve("ct").toString());
            FileSystem fs = HadoopFiles.fileSystem(out, HadoopFiles.defaultConf());
            StitchedCheckpoint.Summary summary = StitchedCheckpoint.write(dense, (layer, level) -> variants.get(layer),
                new StitchedCheckpoint.Profile(Map.of(Q0, 0, DOWN2, 0), null, null), fs, out, DType.F32, false,
                StitchedCheckpoint.Format.COMPRESSED_TENSORS, null);
            assertEquals(java.util.List.of(DOWN2), summary.perChannel());
            assertEquals(32, summary.packed().get(Q0).groupSize());
            assertEquals(0, summary.packed().get(DOWN2).groupSize());
            try (CheckpointReader ct = CheckpointReader.open(out.toString());
                 CausalLm model = ModelLoader.load(ct, Device.cpu(), DataType.FLOAT32)) {
                assertArrayEquals(variants.get(Q0).dense(), model.block(0).weight(io.evocompress.model.LinearName.Q_PROJ).toFloatArray());
                float[] expected = variants.get(DOWN2).dense();
                float[] loaded = model.block(2).weight(io.evocompress.model.LinearName.DOWN_PROJ).toFloatArray();
                int cols = 172;
                for (int r = 0; r < expected.length / cols; r++) {
                    double lo = 0;
                    double hi = 0;
                    for (int c = 0; c < cols; c++) {
                        lo = Math.min(lo, expected[r * cols + c]);
                        hi = Math.max(hi, expected[r * cols + c]);
                    }
                    double halfStep = (hi - lo) / 15 / 2 * 1.0001;
                    for (int c = 0; c < cols; c++) {
                        int i = r * cols + c;
                        if (i % 3 == 0) {
                            assertEquals(0f, loaded[i], "pruned weights load as exact zeros");
                        } else {
                            assertEquals(expected[i], loaded[i], halfStep, "row " + r + " within half a per-channel step");
                        }
                    }
                }
                com.fasterxml.jackson.databind.JsonNode q = new com.fasterxml.jackson.databind.ObjectMapper()
                    .readTree(ct.configJson()).get("quantization_config");
                assertEquals(2, q.get("config_groups").size());
                assertTrue(q.get("ignore").toString().contains("model.layers.0.self_attn.k_proj"), q.toString());
            }
            // a sparse-only profile stays dense
            Path sparse = new Path(tmp.resolve("ct-sparse").toString());
            StitchedCheckpoint.Summary s = StitchedCheckpoint.write(dense, everyNth(dense),
                new StitchedCheckpoint.Profile(Map.of(Q0, 1), null, null), fs, sparse, DType.F32, false,
                StitchedCheckpoint.Format.COMPRESSED_TENSORS, null);
            assertEquals(StitchedCheckpoint.Format.DENSE, s.format());
            try (CheckpointReader r = CheckpointReader.open(sparse.toString())) {
                assertTrue(!r.configJson().contains("quantization_config"));
                assertArrayEquals(everyNth(dense).variant(Q0, 1).dense(), r.readFloat(Q0 + ".weight"));
            }
        }
    }
}
