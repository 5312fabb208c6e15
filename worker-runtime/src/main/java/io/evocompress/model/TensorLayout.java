package io.evocompress.model;

import io.evocompress.EvocompressException;
import io.evocompress.checkpoint.CheckpointReader;
import io.evocompress.checkpoint.TensorInfo;

import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Every tensor a config implies, in checkpoint order, with its shape: the contract between a
 * config.json and its safetensors files.
 */
public final class TensorLayout {
    private final Map<String, long[]> shapes;

    private TensorLayout(Map<String, long[]> shapes) {
        this.shapes = Collections.unmodifiableMap(shapes);
    }

    public static TensorLayout of(ModelConfig config) {
        return of(config, LayerShapes.dense(config));
    }

    /** The layout of a structurally pruned model: per-layer shapes ({@link LayerShapes}). */
    public static TensorLayout of(ModelConfig config, java.util.List<BlockShape> blockShapes) {
        Architecture arch = ArchitectureRegistry.forType(config.modelType(), "config");
        Map<String, long[]> s = new LinkedHashMap<>();
        int h = config.hiddenSize();
        s.put(arch.embedTokens(), new long[] {config.vocabSize(), h});
        for (int layer = 0; layer < config.numLayers(); layer++) {
            String p = arch.blockPrefix(layer);
            s.put(p + "input_layernorm.weight", new long[] {h});
            for (LinearName name : LinearName.values()) {
                long[] shape = blockShapes.get(layer).shape(name, config);
                s.put(p + name.path() + ".weight", shape);
                if (name.hasBias(config)) {
                    s.put(p + name.path() + ".bias", new long[] {shape[0]});
                }
            }
            s.put(p + "post_attention_layernorm.weight", new long[] {h});
        }
        s.put(arch.finalNorm(), new long[] {h});
        if (!config.tieWordEmbeddings()) {
            s.put(arch.lmHead(), new long[] {config.vocabSize(), h});
        }
        return new TensorLayout(s);
    }

    /** The layout a checkpoint's config.json implies, per-layer shapes included ({@link LayerShapes}). */
    public static TensorLayout of(ModelConfig config, CheckpointReader checkpoint) {
        return of(config, LayerShapes.parse(checkpoint.configJson(), config, checkpoint.dir() + "/config.json"));
    }

    /** name -> shape, in checkpoint order. */
    public Map<String, long[]> shapes() {
        return shapes;
    }

    public long[] shape(String name) {
        return shapes.get(name);
    }

    /**
     * Checks that the checkpoint holds every tensor with the right shape, without reading any data
     * (weights it declares packed, {@link io.evocompress.checkpoint.PackedWeights}, are checked when read);
     * the error names the file, the tensor and both shapes.
     */
    public void check(CheckpointReader checkpoint) {
        io.evocompress.checkpoint.PackedWeights packed = io.evocompress.checkpoint.PackedWeights.of(checkpoint);
        check(checkpoint, packed == null ? name -> false : packed::covers);
    }

    /** As {@link #check(CheckpointReader)}, skipping the tensors {@code packed} says are stored packed (checked on read). */
    public void check(CheckpointReader checkpoint, java.util.function.Predicate<String> packed) {
        for (Map.Entry<String, long[]> e : shapes.entrySet()) {
            String name = e.getKey();
            if (packed.test(name)) {
                continue;
            }
            if (!checkpoint.has(name)) {
                throw new EvocompressException("Checkpoint " + checkpoint.dir() + " is missing tensor '" + name
                    + "' (expected shape " + Arrays.toString(e.getValue()) + " for its config.json).");
            }
            TensorInfo info = checkpoint.info(name);
            if (!Arrays.equals(info.shape(), e.getValue())) {
                throw new EvocompressException(checkpoint.file(name).path() + ": tensor '" + name + "' has shape "
                    + info.shapeString() + " but config.json implies " + Arrays.toString(e.getValue()) + ".");
            }
            if (!info.dtype().isFloating()) {
                throw new EvocompressException(checkpoint.file(name).path() + ": tensor '" + name + "' has dtype "
                    + info.dtype() + "; weights must be F32, F16 or BF16.");
            }
        }
    }
}
