package io.evocompress.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.evocompress.Fixtures;
import io.evocompress.checkpoint.CheckpointReader;
import io.evocompress.checkpoint.SafetensorsFile;
import io.evocompress.data.TokenIdsFile;
import io.evocompress.device.EngineTransfer;
import io.evocompress.fs.HadoopFiles;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Tensors larger than one slice ({@link RowSlices}; BLOOM-176B's embedding in production) read onto the device
 * in row slices give the whole-tensor load's logits bit for bit, resident and streamed.
 * With {@value EngineTransfer#CHUNK_PROPERTY} at 40,000 bytes the fixtures' 512 x 64 embeddings and heads
 * (131,072 bytes in float32) span 4 slices, and their 172 x 64 MLP weights (44,032 bytes) 2.
 */
public class SlicedTensorTest {
    private static final String SLICE_BYTES = "40000";

    @ParameterizedTest
    @ValueSource(strings = {"stories260K", "tiny-phi3", "tiny-opt"})
    void slicedLoadsGiveTheWholeLoadsLogitsBitForBit(String fixture) {
        java.nio.file.Path dir = Fixtures.model(fixture);
        Path refFile = HadoopFiles.path(dir.resolve("reference_logits.safetensors").toString());
        FileSystem fs = HadoopFiles.fileSystem(refFile, HadoopFiles.defaultConf());
        int[] ids = TokenIdsFile.read(fs, refFile);
        float[] reference;
        try (SafetensorsFile ref = SafetensorsFile.open(fs, refFile)) {
            reference = ref.readFloat(ref.info("logits"));
        }
        float[] whole = resident(dir, ids, DataType.FLOAT32);
        assertFalse(RowSlices.sliced(new long[] {512, 64}), "the default slice holds the fixture's embedding");
        float[][] sliced = withSlices(() -> {
            assertTrue(RowSlices.sliced(new long[] {512, 64}) && RowSlices.rowsPerSlice(new long[] {512, 64}) == 156);
            try (CheckpointReader ckpt = CheckpointReader.open(dir.toString())) {
                ModelConfig config = ModelLoader.config(ckpt);
                TensorLayout layout = TensorLayout.of(config, ckpt);
                Architecture arch = ArchitectureRegistry.forType(config.modelType(), "config.json");
                java.util.function.Predicate<String> inSlices = ModelLoader.slicedTensors(ckpt, layout);
                assertTrue(inSlices.test(arch.embedTokens()), fixture + ": the embedding is read in slices");
                assertEquals(!config.tieWordEmbeddings(), inSlices.test(arch.lmHead()), fixture + ": the untied head too");
            }
            return new float[][] {resident(dir, ids, DataType.FLOAT32), streamed(dir, ids, DataType.FLOAT32, 1L << 30),
                streamed(dir, ids, DataType.FLOAT32, 0)};
        });
        assertArrayEquals(whole, sliced[0], fixture + ": resident, sliced");
        assertArrayEquals(whole, sliced[1], fixture + ": streamed, sliced, cached");
        assertArrayEquals(whole, sliced[2], fixture + ": streamed, sliced, no cache");
        double maxDiff = 0;
        for (int i = 0; i < whole.length; i++) {
            maxDiff = Math.max(maxDiff, Math.abs(sliced[0][i] - reference[i]));
        }
        assertTrue(maxDiff < 1e-4, fixture + ": max |logit - reference| = " + maxDiff);
    }

    /**
     * In a half-precision compute dtype each slice is converted on its own: the device array equals the whole
     * tensor converted at once, bit for bit (compared widened back to float32). Float16 only: this engine's CPU
     * build aborts the JVM on a bf16 conversion (of a whole tensor too), so bf16 runs on GPUs only.
     */
    @ParameterizedTest
    @ValueSource(strings = {"float16"})
    void slicesConvertToTheComputeDtypeAsTheWholeTensorDoes(String dtypeName) {
        DataType dtype = dtypeName.equals("bfloat16") ? DataType.BFLOAT16 : DataType.FLOAT16;
        try (CheckpointReader ckpt = CheckpointReader.open(Fixtures.model("tiny-phi3").toString());
             NDManager m = NDManager.newBaseManager(Device.cpu())) {
            TensorLayout layout = TensorLayout.of(ModelLoader.config(ckpt), ckpt);
            java.util.function.Function<String, float[]> read = ckpt::readFloat;
            ModelLoader.Loader whole = new ModelLoader.Loader(read, layout::unitShape, m, dtype);
            for (String name : new String[] {"model.embed_tokens.weight", "lm_head.weight",
                    "model.layers.0.mlp.down_proj.weight"}) {
                float[] expected = whole.tensor(name).toType(DataType.FLOAT32, false).toFloatArray();
                float[] actual = withSlices(() -> new ModelLoader.Loader(read, layout::unitShape, m, dtype,
                    ModelLoader.slicedTensors(ckpt, layout), (n, sink) -> RowSlices.read(ckpt, n, null, sink))
                    .tensor(name).toType(DataType.FLOAT32, false).toFloatArray());
                assertArrayEquals(expected, actual, dtypeName + ": " + name);
                assertTrue(withSlices(() -> ModelLoader.slicedTensors(ckpt, layout).test(name)), name);
            }
        }
    }

    /** Runs {@code body} with slices of {@value #SLICE_BYTES} bytes, restoring the property after. */
    public static <T> T withSlices(Supplier<T> body) {
        String before = System.getProperty(EngineTransfer.CHUNK_PROPERTY);
        System.setProperty(EngineTransfer.CHUNK_PROPERTY, SLICE_BYTES);
        try {
            return body.get();
        } finally {
            if (before == null) {
                System.clearProperty(EngineTransfer.CHUNK_PROPERTY);
            } else {
                System.setProperty(EngineTransfer.CHUNK_PROPERTY, before);
            }
        }
    }

    private static float[] resident(java.nio.file.Path dir, int[] ids, DataType dtype) {
        try (CheckpointReader ckpt = CheckpointReader.open(dir.toString());
             CausalLm model = ModelLoader.load(ckpt, Device.cpu(), dtype);
             NDManager m = NDManager.newBaseManager(Device.cpu())) {
            NDArray logits = model.logits(m.create(ids, new Shape(1, ids.length)));
            return logits.toType(DataType.FLOAT32, false).toFloatArray();
        }
    }

    private static float[] streamed(java.nio.file.Path dir, int[] ids, DataType dtype, long cacheBytes) {
        HostWeightCache cache = new HostWeightCache(cacheBytes);
        try (StreamedLm lm = StreamedLm.open(dir.toString(), HadoopFiles.defaultConf(), Device.cpu(), dtype, cache);
             NDManager m = NDManager.newBaseManager(Device.cpu())) {
            NDArray[] h = lm.hiddenStates(new NDArray[] {m.create(ids, new Shape(1, ids.length))});
            float[] out;
            try (CausalLm head = lm.head()) {
                out = head.head(h[0]).toType(DataType.FLOAT32, false).toFloatArray();
            }
            if (cacheBytes > 0) {
                assertTrue(cache.bytes() > 0 && cache.misses() > 0);
            } else {
                assertEquals(0, cache.bytes());
            }
            return out;
        }
    }
}
