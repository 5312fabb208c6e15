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

    /** Parses the checkpoint's config.json with the registry. */
    public static ModelConfig config(CheckpointReader checkpoint) {
        return ArchitectureRegistry.parseConfig(checkpoint.configJson(), checkpoint.dir() + "/config.json");
    }

    public static CausalLm load(CheckpointReader checkpoint, Device device, DataType dtype) {
        ModelConfig config = config(checkpoint);
        Architecture arch = ArchitectureRegistry.forType(config.modelType(), checkpoint.dir() + "/config.json");
        TensorLayout layout = TensorLayout.of(config);
        PackedInt4 packed = PackedInt4.of(checkpoint);
        layout.check(checkpoint, packed == null ? n -> false : packed::covers);
        NDManager manager = NDManager.newBaseManager(device);
        try {
            NDArray embed = tensor(checkpoint, packed, manager, arch.embedTokens(), dtype, layout);
            List<DecoderBlock> blocks = new ArrayList<>();
            for (int layer = 0; layer < config.numLayers(); layer++) {
                String p = arch.blockPrefix(layer);
                Map<LinearName, LinearLayer> linears = new EnumMap<>(LinearName.class);
                for (LinearName name : LinearName.values()) {
                    String base = p + name.path();
                    NDArray w = tensor(checkpoint, packed, manager, base + ".weight", dtype, layout);
                    NDArray b = name.hasBias(config) ? tensor(checkpoint, packed, manager, base + ".bias", dtype, layout) : null;
                    linears.put(name, new LinearLayer(w, b));
                }
                NDArray inNorm = tensor(checkpoint, packed, manager, p + "input_layernorm.weight", dtype, layout);
                NDArray postNorm = tensor(checkpoint, packed, manager, p + "post_attention_layernorm.weight", dtype, layout);
                blocks.add(new DecoderBlock(config, inNorm, postNorm, linears));
            }
            NDArray norm = tensor(checkpoint, packed, manager, arch.finalNorm(), dtype, layout);
            NDArray head = config.tieWordEmbeddings() ? embed : tensor(checkpoint, packed, manager, arch.lmHead(), dtype, layout);
            return new CausalLm(config, manager, dtype, embed, blocks, norm, head);
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    /** Reads one (already checked) tensor and puts it on the manager's device in {@code dtype}. */
    private static NDArray tensor(CheckpointReader checkpoint, PackedInt4 packed, NDManager manager, String name,
                                  DataType dtype, TensorLayout layout) {
        long[] shape = layout.shape(name);
        float[] values;
        if (packed != null && packed.covers(name)) {
            values = packed.dequantize(name, Math.toIntExact(shape[0]), Math.toIntExact(shape[1]));
        } else {
            SafetensorsFile file = checkpoint.file(name);
            values = file.readFloat(file.info(name));
        }
        NDArray array = manager.create(values, new Shape(shape));
        if (dtype == DataType.FLOAT32) {
            return array;
        }
        NDArray converted = array.toType(dtype, false);
        array.close();
        return converted;
    }
}
