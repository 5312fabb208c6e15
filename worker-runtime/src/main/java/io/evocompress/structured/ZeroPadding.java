package io.evocompress.structured;

import io.evocompress.model.Architecture;
import io.evocompress.model.ArchitectureRegistry;
import io.evocompress.model.BlockShape;
import io.evocompress.model.LinearName;
import io.evocompress.model.ModelConfig;
import io.evocompress.model.TensorLayout;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * A structurally pruned model's tensors in the dense (standard) layout, for tools that need uniform
 * layer sizes: kept query rows, o_proj columns, gate/up rows and down_proj columns (and, where the
 * family prunes them with their heads, BLOOM, key/value rows) go back to their dense positions,
 * removed ones are zero. The padded model computes the same function (a zero query head's output
 * meets zero o_proj columns, and a removed BLOOM head's zero v rows and biases give a zero value;
 * silu(0) * up = 0 meets zero down_proj columns). Heads are
 * named by dense index in {@link BlockShape}; neurons are not, so the caller passes each block's kept
 * neurons (ascending dense indices, as {@link StructuredModel#keptNeurons} gives them).
 */
public final class ZeroPadding {
    private ZeroPadding() {
    }

    /**
     * @param keptNeurons per block, the dense indices of its kept neurons in the order of the smaller
     *                    model's rows (ascending), one per neuron of {@code shapes}
     */
    public static Map<String, float[]> pad(ModelConfig c, List<BlockShape> shapes, List<int[]> keptNeurons,
                                           Function<String, float[]> smaller) {
        if (keptNeurons.size() != shapes.size()) {
            throw new IllegalArgumentException(keptNeurons.size() + " neuron lists for " + shapes.size() + " blocks");
        }
        Architecture arch = ArchitectureRegistry.forType(c.modelType(), "config");
        Map<String, float[]> out = new LinkedHashMap<>();
        int h = c.hiddenSize();
        int d = c.headDim();
        for (String name : TensorLayout.of(c).unitShapes().keySet()) {
            out.put(name, smaller.apply(name).clone());
        }
        for (int b = 0; b < shapes.size(); b++) {
            String p = arch.blockPrefix(b);
            BlockShape s = shapes.get(b);
            int[] qRows = new int[s.numHeads() * d];
            int[] heads = s.keptHeads();
            for (int i = 0; i < heads.length; i++) {
                for (int k = 0; k < d; k++) {
                    qRows[i * d + k] = heads[i] * d + k;
                }
            }
            int[] neurons = keptNeurons.get(b);
            if (neurons.length != s.intermediate()) {
                throw new IllegalArgumentException("block " + b + " keeps " + s.intermediate() + " neurons but "
                    + neurons.length + " dense indices were given");
            }
            String q = p + arch.linearPath(LinearName.Q_PROJ);
            String o = p + arch.linearPath(LinearName.O_PROJ);
            out.put(q + ".weight", rows(smaller.apply(q + ".weight"), qRows, c.qDim(), h));
            if (c.qkvBias()) {
                out.put(q + ".bias", rows(smaller.apply(q + ".bias"), qRows, c.qDim(), 1));
            }
            out.put(o + ".weight", cols(smaller.apply(o + ".weight"), qRows, h, c.qDim()));
            if (arch.prunesKeyValueWithHeads()) {
                // BLOOM: k and v rows of the kept heads back to their dense positions, the others zero
                int[] kvHeads = s.keptKvHeads(c);
                int[] kvRows = new int[kvHeads.length * d];
                for (int i = 0; i < kvHeads.length; i++) {
                    for (int k = 0; k < d; k++) {
                        kvRows[i * d + k] = kvHeads[i] * d + k;
                    }
                }
                for (LinearName n : List.of(LinearName.K_PROJ, LinearName.V_PROJ)) {
                    String base = p + arch.linearPath(n);
                    out.put(base + ".weight", rows(smaller.apply(base + ".weight"), kvRows, c.kvDim(), h));
                    if (c.qkvBias()) {
                        out.put(base + ".bias", rows(smaller.apply(base + ".bias"), kvRows, c.kvDim(), 1));
                    }
                }
            }
            for (LinearName n : arch.linears(c)) {
                if (n != LinearName.GATE_PROJ && n != LinearName.UP_PROJ) {
                    continue;
                }
                String base = p + arch.linearPath(n);
                out.put(base + ".weight", rows(smaller.apply(base + ".weight"), neurons, c.intermediateSize(), h));
                if (c.mlpBias()) {
                    out.put(base + ".bias", rows(smaller.apply(base + ".bias"), neurons, c.intermediateSize(), 1));
                }
            }
            String down = p + arch.linearPath(LinearName.DOWN_PROJ);
            out.put(down + ".weight", cols(smaller.apply(down + ".weight"), neurons, h, c.intermediateSize()));
        }
        return out;
    }

    private static float[] rows(float[] compact, int[] to, int rows, int cols) {
        float[] out = new float[rows * cols];
        for (int i = 0; i < to.length; i++) {
            System.arraycopy(compact, i * cols, out, to[i] * cols, cols);
        }
        return out;
    }

    private static float[] cols(float[] compact, int[] to, int rows, int cols) {
        float[] out = new float[rows * cols];
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < to.length; i++) {
                out[r * cols + to[i]] = compact[r * to.length + i];
            }
        }
        return out;
    }
}
