package io.evocompress.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.evocompress.checkpoint.CheckpointWriter;
import io.evocompress.checkpoint.DType;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A random-weight Llama checkpoint for benchmarks and scale tests: linear and embedding weights
 * ~ N(0, 0.02^2) (the Llama initialiser), norms 1. Each tensor's values depend only on the seed and
 * the tensor's name, and are generated when the writer asks for them (never the whole model at once).
 */
public final class SyntheticCheckpoint {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final double INIT_STD = 0.02;

    private SyntheticCheckpoint() {
    }

    /** A llama config.json for the given shape. */
    public static String configJson(int hidden, int layers, int heads, int kvHeads, int intermediate, int vocab,
                                    int context, boolean tied) {
        ObjectNode c = JSON.createObjectNode();
        c.putArray("architectures").add("LlamaForCausalLM");
        c.put("model_type", "llama");
        c.put("hidden_size", hidden);
        c.put("intermediate_size", intermediate);
        c.put("num_hidden_layers", layers);
        c.put("num_attention_heads", heads);
        c.put("num_key_value_heads", kvHeads);
        c.put("head_dim", hidden / heads);
        c.put("vocab_size", vocab);
        c.put("max_position_embeddings", context);
        c.put("rms_norm_eps", 1e-5);
        c.put("rope_theta", 10000.0);
        c.put("hidden_act", "silu");
        c.put("tie_word_embeddings", tied);
        c.put("attention_bias", false);
        c.put("mlp_bias", false);
        c.put("bos_token_id", 1);
        c.put("eos_token_id", 2);
        c.put("torch_dtype", "float32");
        return c.toString();
    }

    /** Writes the checkpoint (atomically) and returns its config. */
    public static ModelConfig write(FileSystem fs, Path out, String configJson, long seed, DType dtype, int shards,
                                    boolean overwrite) {
        ModelConfig config = ArchitectureRegistry.parseConfig(configJson, "synthetic config.json");
        List<CheckpointWriter.Tensor> tensors = new ArrayList<>();
        TensorLayout.of(config).shapes().forEach((name, shape) ->
            tensors.add(shape.length == 1 ? ones(name, (int) shape[0]) : gaussian(name, seed, shape)));
        new CheckpointWriter(dtype, shards, overwrite).write(fs, out, configJson, tensors, null, null);
        return config;
    }

    private static CheckpointWriter.Tensor gaussian(String name, long seed, long... shape) {
        return new CheckpointWriter.Tensor(name, shape, () -> {
            SplittableRandom random = new SplittableRandom(seed * 31 + name.hashCode());
            float[] values = new float[Math.toIntExact(Arrays.stream(shape).reduce(1, (a, b) -> a * b))];
            for (int i = 0; i < values.length; i++) {
                values[i] = (float) (gauss(random) * INIT_STD);
            }
            return values;
        });
    }

    private static double gauss(SplittableRandom random) {
        // Box-Muller (SplittableRandom has no nextGaussian on Java 17)
        double u = 1.0 - random.nextDouble();
        double v = random.nextDouble();
        return Math.sqrt(-2.0 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    }

    private static CheckpointWriter.Tensor ones(String name, int size) {
        return new CheckpointWriter.Tensor(name, new long[] {size}, () -> {
            float[] v = new float[size];
            Arrays.fill(v, 1f);
            return v;
        });
    }
}
