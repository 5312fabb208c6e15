package io.evocompress.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.ObjectMapper;
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

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The DJL forward against the naive double-precision reference, for every architecture feature:
 * first the reference itself is checked against stories260K's PyTorch logits, then tiny random
 * models exercise q/k/v biases (qwen2), attention and MLP biases (llama), sliding windows (mistral),
 * and Llama 3 rope scaling.
 */
class ArchitectureForwardTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void naiveReferenceMatchesThePyTorchReferenceLogits() {
        java.nio.file.Path dir = Fixtures.stories260k();
        Path refFile = HadoopFiles.path(dir.resolve("reference_logits.safetensors").toString());
        FileSystem fs = HadoopFiles.fileSystem(refFile, HadoopFiles.defaultConf());
        int[] ids = java.util.Arrays.copyOf(TokenIdsFile.read(fs, refFile), 48);
        float[] expected;
        try (SafetensorsFile ref = SafetensorsFile.open(fs, refFile)) {
            expected = ref.readFloat(ref.info("logits"));
        }
        try (CheckpointReader ckpt = CheckpointReader.open(dir.toString())) {
            double[][] naive = new NaiveReferenceForward(ckpt).logits(ids);
            double max = 0;
            for (int t = 0; t < ids.length; t++) {
                for (int v = 0; v < 512; v++) {
                    max = Math.max(max, Math.abs(naive[t][v] - expected[t * 512 + v]));
                }
            }
            assertTrue(max < 1e-6, "naive reference vs PyTorch float64: " + max);
        }
    }

    @Test
    void qwen2WithQkvBiases(@TempDir java.nio.file.Path tmp) {
        assertMatchesNaive(tmp, "qwen2", Map.of());
    }

    @Test
    void llamaWithAttentionAndMlpBiasesAndUntiedHead(@TempDir java.nio.file.Path tmp) {
        assertMatchesNaive(tmp, "llama", Map.of("attention_bias", true, "mlp_bias", true, "tie_word_embeddings", false));
    }

    @Test
    void mistralWithASlidingWindowShorterThanTheSequence(@TempDir java.nio.file.Path tmp) {
        assertMatchesNaive(tmp, "mistral", Map.of("sliding_window", 5));
    }

    @Test
    void llama3RopeScaling(@TempDir java.nio.file.Path tmp) {
        ObjectNode scaling = JSON.createObjectNode().put("rope_type", "llama3").put("factor", 8.0)
            .put("low_freq_factor", 1.0).put("high_freq_factor", 4.0).put("original_max_position_embeddings", 16);
        assertMatchesNaive(tmp, "llama", Map.of("rope_scaling", scaling, "rope_theta", 500000.0));
    }

    /** Writes a tiny random model of the type, runs both forwards on 20 tokens, compares logits. */
    private static void assertMatchesNaive(java.nio.file.Path tmp, String type, Map<String, Object> extra) {
        ObjectNode config = (ObjectNode) readTree(SyntheticCheckpoint.configJson(32, 2, 4, 2, 48, 50, 64, true));
        config.put("model_type", type);
        extra.forEach((k, v) -> config.set(k, JSON.valueToTree(v)));
        ModelConfig parsed = ArchitectureRegistry.parseConfig(config.toString(), type + " test config");
        List<CheckpointWriter.Tensor> tensors = new ArrayList<>();
        SplittableRandom random = new SplittableRandom(7);
        TensorLayout.of(parsed).shapes().forEach((name, shape) -> {
            long n = 1;
            for (long s : shape) {
                n *= s;
            }
            float[] values = new float[(int) n];
            boolean norm = name.endsWith("norm.weight");
            for (int i = 0; i < values.length; i++) {
                values[i] = norm ? (float) (1 + 0.1 * random.nextDouble()) : (float) (random.nextDouble() - 0.5) * 0.6f;
            }
            tensors.add(new CheckpointWriter.Tensor(name, shape, () -> values));
        });
        Path out = HadoopFiles.path(tmp.resolve(type).toString());
        FileSystem fs = HadoopFiles.fileSystem(out, HadoopFiles.defaultConf());
        new CheckpointWriter(DType.F32, 1, false).write(fs, out, config.toString(), tensors, null, null);

        int[] ids = new int[20];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = random.nextInt(50);
        }
        try (CheckpointReader ckpt = CheckpointReader.open(out, HadoopFiles.defaultConf());
             CausalLm model = ModelLoader.load(ckpt, Device.cpu(), DataType.FLOAT32);
             NDManager m = NDManager.newBaseManager(Device.cpu())) {
            double[][] naive = new NaiveReferenceForward(ckpt).logits(ids);
            NDArray logits = model.logits(m.create(ids, new Shape(1, ids.length)));
            float[] actual = logits.toFloatArray();
            double max = 0;
            double spread = 0;
            for (int t = 0; t < ids.length; t++) {
                for (int v = 0; v < 50; v++) {
                    max = Math.max(max, Math.abs(actual[t * 50 + v] - naive[t][v]));
                    spread = Math.max(spread, Math.abs(naive[t][v]));
                }
            }
            assertTrue(spread > 0.5, "test model too weak to discriminate: max |logit| " + spread);
            assertTrue(max < 1e-4, type + " " + extra.keySet() + ": max |DJL - naive| = " + max);
        }
    }

    private static com.fasterxml.jackson.databind.JsonNode readTree(String json) {
        try {
            return JSON.readTree(json);
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
