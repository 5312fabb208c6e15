package io.evocompress.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.evocompress.Fixtures;
import io.evocompress.checkpoint.CheckpointReader;
import io.evocompress.checkpoint.SafetensorsFile;
import io.evocompress.data.TokenIdsFile;
import io.evocompress.fs.HadoopFiles;
import io.evocompress.metrics.TokenMetrics;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Files;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Llama (stories260K), OPT, BLOOM and Phi-3 forwards against each fixture's float64 reference
 * logits (computed by an independent implementation of the Hugging Face forward): every logit within 1e-4,
 * and the mean next-token NLL (as eval computes it) within 1e-4 of reference.json.
 */
class FamilyReferenceLogitsTest {

    @ParameterizedTest
    @ValueSource(strings = {"stories260K", "tiny-opt", "tiny-bloom", "tiny-phi3"})
    void logitsAndNllMatchTheFloat64Reference(String fixture) throws IOException {
        java.nio.file.Path dir = Fixtures.model(fixture);
        double expectedNll = new ObjectMapper().readTree(Files.readString(dir.resolve("reference.json")))
            .get("nll_per_token").asDouble();
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
            assertTrue(maxDiff < 1e-4, fixture + ": max |logit - reference| = " + maxDiff);
            double nll = TokenMetrics.nllSum(logits, idArray) / (ids.length - 1);
            assertEquals(expectedNll, nll, 1e-4, fixture);
        }
    }
}
