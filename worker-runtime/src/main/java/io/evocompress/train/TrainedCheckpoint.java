package io.evocompress.train;

import ai.djl.ndarray.NDArray;
import io.evocompress.checkpoint.CheckpointWriter;
import io.evocompress.checkpoint.DType;
import io.evocompress.model.CausalLm;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Writes a model's current (trained) weights as a Hugging Face checkpoint through
 * {@link CheckpointWriter}: atomically, tensor by tensor in checkpoint order, float32 unless asked
 * otherwise, with the tokenizer files copied from a source checkpoint when given.
 */
public final class TrainedCheckpoint {
    private TrainedCheckpoint() {
    }

    /**
     * @param configJson  the model's config.json text (e.g. {@code CheckpointReader.configJson()})
     * @param sideFilesOf a checkpoint directory whose tokenizer files are copied, or null
     */
    public static void write(CausalLm model, String configJson, FileSystem fs, Path out, DType dtype, boolean overwrite,
                             FileSystem sideFs, Path sideFilesOf) {
        new CheckpointWriter(dtype, 1, overwrite).write(fs, out, configJson, tensors(model), sideFs, sideFilesOf);
    }

    /**
     * The model's weights as the checkpoint stores them, in checkpoint order ({@link io.evocompress.model.TensorLayout}):
     * layers the family stores fused (Phi-3 qkv_proj, BLOOM query_key_value) fused again from the
     * model's parts; each array read when the writer gets to it.
     */
    static List<CheckpointWriter.Tensor> tensors(io.evocompress.model.CausalLm model) {
        Map<String, NDArray> arrays = model.parameters();
        io.evocompress.model.TensorLayout layout = io.evocompress.model.TensorLayout.of(model.config(), model.blockShapes());
        List<CheckpointWriter.Tensor> out = new ArrayList<>();
        layout.shapes().forEach((name, shape) -> out.add(new CheckpointWriter.Tensor(name, shape, layout.isFused(name)
            ? () -> layout.fuse(name, part -> arrays.get(part).toFloatArray())
            : arrays.get(name)::toFloatArray)));
        return out;
    }

    /** Writer input reading each array when the writer gets to it. */
    static List<CheckpointWriter.Tensor> tensors(Map<String, NDArray> arrays) {
        List<CheckpointWriter.Tensor> out = new ArrayList<>();
        arrays.forEach((name, array) ->
            out.add(new CheckpointWriter.Tensor(name, array.getShape().getShape(), array::toFloatArray)));
        return out;
    }
}
