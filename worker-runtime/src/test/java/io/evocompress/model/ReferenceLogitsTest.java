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
import io.evocompress.fs.HadoopFiles;
import io.evocompress.metrics.TokenMetrics;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The forward pass against the independent float64 PyTorch reference shipped with stories260K. */
class ReferenceLogitsTest {

    @Test
    void logitsMatchTheFloat64ReferenceTo1e4() {
        java.nio.file.Path dir = Fixtures.stories260k();
        Path refFile = HadoopFiles.path(dir.resolve("reference_logits.safetensors").toString());
        FileSystem fs = HadoopFiles.fileSystem(refFile, HadoopFiles.defaultConf());
        int[] ids = TokenIdsFile.read(fs, refFile);
        float[] expected;
        try (SafetensorsFile ref = SafetensorsFile.open(fs, refFile)) {
            expected = ref.readFloat(ref.info("logits"));
        }
        try (CheckpointReader ckpt = CheckpointReader.open(dir.toString());
             CausalLm model = ModelLoader.load(ckpt, Device.cpu(), DataType.FLOAT32);
             NDManager m = NDManager.newBaseManager(Device.cpu())) {
            NDArray idArray = m.create(ids, new Shape(1, ids.length));
            NDArray logits = model.logits(idArray);
            assertEquals(new Shape(1, 256, 512), logits.getShape());
            float[] actual = logits.toFloatArray();
            double maxDiff = 0;
            for (int i = 0; i < actual.length; i++) {
                maxDiff = Math.max(maxDiff, Math.abs(actual[i] - expected[i]));
            }
            assertTrue(maxDiff < 1e-4, "max |logit - reference| = " + maxDiff);
            double nll = TokenMetrics.nllSum(logits, idArray) / (ids.length - 1);
            assertEquals(1.3078049704597599, nll, 1e-4);
        }
    }
}
