package io.evocompress.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.evocompress.checkpoint.CheckpointReader;
import io.evocompress.checkpoint.PackedInt4;
import io.evocompress.checkpoint.SafetensorsFile;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * Loads a {@link CausalLm} from a checkpoint onto a device, tensor by tensor, checking every tensor's
 * presence and shape against the config (errors name the file, the tensor and both shapes). Linear
 * weights a checkpoint stores packed ({@link PackedInt4}, declared in config.json's
 * {@code quantization_config}) are dequantized to float32 on load.
 */
public final class ModelLoader {
    private ModelLoader() {
    }

    /** Parses the checkpoint's config.json with the registry and checks its block count against the tensors ({@link BlockCount}). */
    public static ModelConfig config(CheckpointReader checkpoint) {
        ModelConfig config = ArchitectureRegistry.parseConfig(checkpoint.configJson(), checkpoint.dir() + "/config.json");
        BlockCount.check(config, checkpoint);
        return config;
    }

    public static CausalLm load(CheckpointReader checkpoint, Device device, DataType dtype) {
        ModelConfig config = config(checkpoint);
        List<BlockShape> shapes = LayerShapes.parse(checkpoint.configJson(), config, checkpoint.dir() + "/config.json");
        TensorLayout layout = TensorLayout.of(config, shapes);
        PackedInt4 packed = PackedInt4.of(checkpoint);
        layout.check(checkpoint, packed == null ? n -> false : packed::covers);
        return load(config, shapes, name -> {
            if (packed != null && packed.covers(name)) {
                long[] shape = layout.shape(name);
                return packed.dequantize(name, Math.toIntExact(shape[0]), Math.toIntExact(shape[1]));
            }
            SafetensorsFile file = checkpoint.file(name);
            return file.readFloat(file.info(name));
        }, device, dtype);
    }

    /**
     * Builds a model from weights in memory (e.g. a candidate stitched from a structured database):
     * {@code tensors} maps each tensor name of the layout to its row-major float32 values.
     */
    public static CausalLm load(String configJson, String where, java.util.function.Function<String, float[]> tensors,
                                Device device, DataType dtype) {
        ModelConfig config = ArchitectureRegistry.parseConfig(configJson, where);
        List<BlockShape> shapes = LayerShapes.parse(configJson, config, where);
        return load(config, shapes, tensors, device, dtype);
    }

    private static CausalLm load(ModelConfig config, List<BlockShape> shapes,
                                 java.util.function.Function<String, float[]> source, Device device, DataType dtype) {
        Architecture arch = ArchitectureRegistry.forType(config.modelType(), "config.json");
        TensorLayout layout = TensorLayout.of(config, shapes);
        java.util.function.Function<String, float[]> checked = name -> {
            float[] values = source.apply(name);
            long numel = java.util.Arrays.stream(layout.shape(name)).reduce(1, (a, b) -> a * b);
            if (values == null || values.length != numel) {
                throw new io.evocompress.EvocompressException("Tensor '" + name + "' holds "
                    + (values == null ? "nothing" : values.length + " values") + ", expected shape "
                    + java.util.Arrays.toString(layout.shape(name)));
            }
            return values;
        };
        NDManager manager = NDManager.newBaseManager(device);
        try {
            NDArray embed = tensor(checked, manager, arch.embedTokens(), dtype, layout);
            List<DecoderBlock> blocks = new ArrayList<>();
            for (int layer = 0; layer < config.numLayers(); layer++) {
                String p = arch.blockPrefix(layer);
                Map<LinearName, LinearLayer> linears = new EnumMap<>(LinearName.class);
                for (LinearName name : LinearName.values()) {
                    String base = p + name.path();
                    NDArray w = tensor(checked, manager, base + ".weight", dtype, layout);
                    NDArray b = name.hasBias(config) ? tensor(checked, manager, base + ".bias", dtype, layout) : null;
                    linears.put(name, new LinearLayer(w, b));
                }
                NDArray inNorm = tensor(checked, manager, p + "input_layernorm.weight", dtype, layout);
                NDArray postNorm = tensor(checked, manager, p + "post_attention_layernorm.weight", dtype, layout);
                blocks.add(new DecoderBlock(config, shapes.get(layer), inNorm, postNorm, linears));
            }
            NDArray norm = tensor(checked, manager, arch.finalNorm(), dtype, layout);
            NDArray head = config.tieWordEmbeddings() ? embed : tensor(checked, manager, arch.lmHead(), dtype, layout);
            return new CausalLm(config, manager, dtype, embed, blocks, norm, head);
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    /** Reads one (already checked) tensor and puts it on the manager's device in {@code dtype}. */
    private static NDArray tensor(java.util.function.Function<String, float[]> checkpoint, NDManager manager, String name,
                                  DataType dtype, TensorLayout layout) {
        NDArray array = manager.create(checkpoint.apply(name), new Shape(layout.shape(name)));
        if (dtype == DataType.FLOAT32) {
            return array;
        }
        NDArray converted = array.toType(dtype, false);
        array.close();
        return converted;
    }
}
