package io.evocompress.structured;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import io.evocompress.EvocompressException;
import io.evocompress.checkpoint.CheckpointReader;
import io.evocompress.checkpoint.CheckpointWriter;
import io.evocompress.checkpoint.DType;
import io.evocompress.compress.StructuredSnapshot;
import io.evocompress.model.Architecture;
import io.evocompress.model.ArchitectureRegistry;
import io.evocompress.model.BlockShape;
import io.evocompress.model.CausalLm;
import io.evocompress.model.LayerShapes;
import io.evocompress.model.LinearName;
import io.evocompress.model.ModelConfig;
import io.evocompress.model.ModelLoader;
import io.evocompress.model.TensorLayout;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * A structurally pruned model stitched from the dense weights and one attention and one MLP snapshot
 * per block, as plain float32 tensors by Hugging Face name. Per block:
 * <ul>
 *   <li>o_proj is the attention snapshot's compact weight (OBS-updated kept columns); q_proj (and its
 *       bias) keeps the rows of the kept heads; k_proj and v_proj are the dense ones, whole, except in a
 *       family that prunes them with their query heads ({@code Architecture.prunesKeyValueWithHeads},
 *       BLOOM), where they keep the rows of the kept heads too;</li>
 *   <li>down_proj is the MLP snapshot's compact weight; gate_proj and up_proj (and their biases) keep
 *       the rows of the kept neurons;</li>
 *   <li>everything else (embeddings, norms, LM head) is dense.</li>
 * </ul>
 * {@link #smaller} is the physically smaller model (per-layer sizes in config.json, {@link LayerShapes});
 * {@link #padded} the same function in the dense layout, every removed row and column zero (a zero
 * query row gives a head whose output meets only zero o_proj columns; a zero gate row gives silu(0) = 0).
 * Nothing here changes the dense tensors: every stitched tensor is a fresh array.
 */
public final class StructuredModel {
    private final String denseConfigJson;
    private final ModelConfig config;
    private final Function<String, float[]> dense;
    private final List<StructuredSnapshot> attention;
    private final List<StructuredSnapshot> mlp;

    /**
     * @param dense     dense tensors by name (not modified)
     * @param attention per block, its o_proj snapshot
     * @param mlp       per block, its down_proj snapshot
     */
    public StructuredModel(String denseConfigJson, ModelConfig config, Function<String, float[]> dense,
                           List<StructuredSnapshot> attention, List<StructuredSnapshot> mlp) {
        if (attention.size() != config.numLayers() || mlp.size() != config.numLayers()) {
            throw new EvocompressException("a structured model needs one attention and one MLP snapshot per block ("
                + config.numLayers() + "), but got " + attention.size() + " and " + mlp.size());
        }
        this.denseConfigJson = denseConfigJson;
        this.config = config;
        this.dense = dense;
        this.attention = List.copyOf(attention);
        this.mlp = List.copyOf(mlp);
    }

    /** Stitches the snapshots at the given levels (per block) from a database. */
    public static StructuredModel of(String denseConfigJson, ModelConfig config, Function<String, float[]> dense,
                                     StructuredDatabase db, int[] attentionLevels, int[] mlpLevels) {
        List<StructuredSnapshot> a = new ArrayList<>();
        List<StructuredSnapshot> m = new ArrayList<>();
        for (int b = 0; b < config.numLayers(); b++) {
            a.add(db.snapshot(b, StructureGroup.ATTENTION, attentionLevels[b]));
            m.add(db.snapshot(b, StructureGroup.MLP, mlpLevels[b]));
        }
        return new StructuredModel(denseConfigJson, config, dense, a, m);
    }

    /** A dense checkpoint's tensors by unit name (fused layers by part, {@link TensorLayout#unitShapes}), read on demand. */
    public static Function<String, float[]> tensors(CheckpointReader checkpoint) {
        return name -> TensorLayout.readUnit(checkpoint, name);
    }

    public List<BlockShape> shapes() {
        List<BlockShape> out = new ArrayList<>();
        for (int b = 0; b < config.numLayers(); b++) {
            out.add(new BlockShape(attention.get(b).keptStructures(), mlp.get(b).keptStructures().length));
        }
        return out;
    }

    /** Per block, the dense indices of the kept MLP neurons, ascending (the smaller model's row order). */
    public List<int[]> keptNeurons() {
        List<int[]> out = new ArrayList<>();
        for (StructuredSnapshot m : mlp) {
            out.add(m.keptStructures().clone());
        }
        return out;
    }

    public String smallerConfigJson() {
        return LayerShapes.write(denseConfigJson, shapes());
    }

    public long parameterCount() {
        return LayerShapes.parameterCount(config, shapes());
    }

    /** The smaller model's tensors, in checkpoint order. */
    public Map<String, float[]> smaller() {
        return stitch(false);
    }

    /** The same model in the dense layout, removed rows and columns zero. */
    public Map<String, float[]> padded() {
        return stitch(true);
    }

    private Map<String, float[]> stitch(boolean pad) {
        Architecture arch = ArchitectureRegistry.forType(config.modelType(), "config");
        TensorLayout layout = pad ? TensorLayout.of(config) : TensorLayout.of(config, shapes());
        Map<String, float[]> out = new LinkedHashMap<>();
        int h = config.hiddenSize();
        int d = config.headDim();
        for (String name : layout.unitShapes().keySet()) {
            out.put(name, null);
        }
        for (String name : layout.unitShapes().keySet()) {
            out.put(name, dense.apply(name).clone());
        }
        for (int b = 0; b < config.numLayers(); b++) {
            String p = arch.blockPrefix(b);
            StructuredSnapshot a = attention.get(b);
            StructuredSnapshot m = mlp.get(b);
            int[] heads = a.keptStructures();
            int[] neurons = m.keptStructures();
            // rows of q (d per kept head), gate and up (one per kept neuron)
            rows(out, p + arch.linearPath(LinearName.Q_PROJ), units(heads, d), config.qDim(), h, pad, config.qkvBias());
            if (arch.prunesKeyValueWithHeads()) {
                // BLOOM: k and v keep the rows of the key/value heads the kept query heads read
                int[] kv = units(new BlockShape(heads, neurons.length).keptKvHeads(config), d);
                rows(out, p + arch.linearPath(LinearName.K_PROJ), kv, config.kvDim(), h, pad, config.qkvBias());
                rows(out, p + arch.linearPath(LinearName.V_PROJ), kv, config.kvDim(), h, pad, config.qkvBias());
            }
            for (LinearName n : arch.linears(config)) {
                if (n == LinearName.GATE_PROJ || n == LinearName.UP_PROJ) {
                    rows(out, p + arch.linearPath(n), units(neurons, 1), config.intermediateSize(), h, pad, config.mlpBias());
                }
            }
            out.put(p + arch.linearPath(LinearName.O_PROJ) + ".weight", pad ? a.denseWeight() : a.weight().clone());
            out.put(p + arch.linearPath(LinearName.DOWN_PROJ) + ".weight", pad ? m.denseWeight() : m.weight().clone());
        }
        return out;
    }

    private static int[] units(int[] kept, int width) {
        int[] rows = new int[kept.length * width];
        for (int i = 0; i < kept.length; i++) {
            for (int c = 0; c < width; c++) {
                rows[i * width + c] = kept[i] * width + c;
            }
        }
        return rows;
    }

    /** Keeps {@code keep} rows of a [rows, cols] weight (and bias): compact, or zeroing the others when padding. */
    private static void rows(Map<String, float[]> out, String base, int[] keep, int rows, int cols, boolean pad, boolean bias) {
        float[] w = out.get(base + ".weight");
        out.put(base + ".weight", selectRows(w, keep, rows, cols, pad));
        if (bias) {
            out.put(base + ".bias", selectRows(out.get(base + ".bias"), keep, rows, 1, pad));
        }
    }

    private static float[] selectRows(float[] w, int[] keep, int rows, int cols, boolean pad) {
        float[] res = new float[(pad ? rows : keep.length) * cols];
        for (int i = 0; i < keep.length; i++) {
            int to = pad ? keep[i] : i;
            System.arraycopy(w, keep[i] * cols, res, to * cols, cols);
        }
        return res;
    }

    /** The smaller model on a device (float32 for training). */
    public CausalLm loadSmaller(Device device, DataType dtype) {
        Map<String, float[]> t = smaller();
        return ModelLoader.load(smallerConfigJson(), "stitched structured model", t::get, device, dtype);
    }

    /** Writes tensors (by unit name) as a checkpoint (F32), fused tensors fused again in the family's layout. */
    public static void write(Map<String, float[]> tensors, TensorLayout layout, String configJson, FileSystem fs, Path out,
                             boolean overwrite, FileSystem sideFs, Path sideFilesOf) {
        List<CheckpointWriter.Tensor> list = new ArrayList<>();
        layout.fuse(tensors).forEach((name, values) -> list.add(new CheckpointWriter.Tensor(name, layout.shape(name), () -> values)));
        new CheckpointWriter(DType.F32, 1, overwrite).write(fs, out, configJson, list, sideFs, sideFilesOf);
    }

    /** The padded model's layout (dense). */
    public TensorLayout denseLayout() {
        return TensorLayout.of(config);
    }

    public TensorLayout smallerLayout() {
        return TensorLayout.of(config, shapes());
    }

    public String denseConfigJson() {
        return denseConfigJson;
    }

    @Override
    public String toString() {
        return "StructuredModel" + shapes().stream().map(s -> s.numHeads() + "h/" + s.intermediate()).toList()
            + " " + Arrays.toString(new long[] {parameterCount()});
    }
}
