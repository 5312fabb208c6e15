package io.evocompress.export;

import io.evocompress.checkpoint.CheckpointWriter;
import io.evocompress.checkpoint.PackQuantized;
import io.evocompress.compress.QuantizedWeight;
import io.evocompress.database.LayerVariant;

import java.util.List;

/**
 * One quantized linear layer as compressed-tensors {@code pack-quantized} stores it, chosen so that
 * vLLM's kernels take it: one scale per row ({@code channel}) when the layer has one group per row,
 * {@code group} when its group size is 32, 64 or 128 and divides the layer's input width, and
 * otherwise (e.g. 172 inputs in groups of 128) requantized per channel: a min-max grid per output row
 * (GPTQ's reference quantizer) fitted to the dequantized weights at the same bits, so the layer no
 * longer equals the scored one ({@link #requantized()}, said in the export summary). Pruned weights
 * get their group's zero point as code, so they load as exact zeros.
 *
 * @param codes  row-major [rows, cols] unsigned codes
 * @param scales [rows, scheme.groups(cols)]
 * @param zeros  [rows, scheme.groups(cols)] unsigned zero points
 */
public record PackQuantizedLayer(int rows, int cols, PackQuantized.Scheme scheme, int[] codes, float[] scales, int[] zeros,
                                 boolean requantized) {

    /** Whether a layer of {@code cols} inputs in groups of {@code groupSize} is exported as it is. */
    public static boolean vllmGroupable(int cols, int groupSize) {
        return groupSize >= cols || (PackQuantized.VLLM_GROUPS.contains(groupSize) && cols % groupSize == 0);
    }

    /** A database variant (its mask, if any, marks the pruned weights). */
    public static PackQuantizedLayer of(LayerVariant.Quantized q, boolean symmetric) {
        int groups = LayerVariant.Quantized.groups(q.cols(), q.groupSize());
        if (!vllmGroupable(q.cols(), q.groupSize())) {
            return perChannel(q.rows(), q.cols(), q.bits(), q.dense(), q.mask(), symmetric);
        }
        int[] codes = q.q().clone();
        if (q.mask() != null) {
            for (int i = 0; i < codes.length; i++) {
                if (!q.mask()[i]) {
                    codes[i] = q.zeros()[(i / q.cols()) * groups + (i % q.cols()) / q.groupSize()];
                }
            }
        }
        return new PackQuantizedLayer(q.rows(), q.cols(), scheme(q.bits(), symmetric, q.groupSize(), q.cols()), codes,
            q.scales(), q.zeros(), false);
    }

    /**
     * A layer from {@code compress}: {@code weight} the written (dequantized, pruned) weights, whose
     * exact zeros take the zero point (a kept weight is exactly zero only when its code is the zero
     * point anyway). Act-order groups that are not contiguous are requantized per channel.
     */
    public static PackQuantizedLayer of(QuantizedWeight w, float[] weight, boolean symmetric) {
        int rows = w.rows();
        int cols = w.columns();
        int g = w.groupSize() == 0 ? cols : Math.min(w.groupSize(), cols);
        boolean contiguous = true;
        for (int c = 0; c < cols && contiguous; c++) {
            contiguous = w.groupIndex()[c] == c / g;
        }
        if (!contiguous || !vllmGroupable(cols, g)) {
            return perChannel(rows, cols, w.bits(), weight, null, symmetric);
        }
        int groups = w.groups();
        int[] codes = new int[rows * cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                int i = r * cols + c;
                codes[i] = weight[i] == 0f ? w.zeros()[r * groups + c / g] : w.code(r, c);
            }
        }
        return new PackQuantizedLayer(rows, cols, scheme(w.bits(), symmetric, g, cols), codes, w.scales(), w.zeros(), false);
    }

    private static PackQuantized.Scheme scheme(int bits, boolean symmetric, int groupSize, int cols) {
        return new PackQuantized.Scheme(bits, symmetric, groupSize >= cols ? 0 : groupSize);
    }

    /** Min-max per output row over {@code w} (pruned weights, mask false, stay exact zeros). */
    static PackQuantizedLayer perChannel(int rows, int cols, int bits, float[] w, boolean[] mask, boolean symmetric) {
        int maxq = (1 << bits) - 1;
        int[] codes = new int[rows * cols];
        float[] scales = new float[rows];
        int[] zeros = new int[rows];
        for (int r = 0; r < rows; r++) {
            double xmin = 0;
            double xmax = 0;
            for (int c = 0; c < cols; c++) {
                xmin = Math.min(xmin, w[r * cols + c]);
                xmax = Math.max(xmax, w[r * cols + c]);
            }
            if (symmetric) {
                xmax = Math.max(-xmin, xmax);
                xmin = -xmax;
            }
            if (xmin == 0 && xmax == 0) {
                xmin = -1;
                xmax = 1;
            }
            float scale = (float) ((xmax - xmin) / maxq);
            int zero = symmetric ? (maxq + 1) / 2 : (int) Math.min(maxq, Math.max(0, Math.rint(-xmin / scale)));
            scales[r] = scale;
            zeros[r] = zero;
            for (int c = 0; c < cols; c++) {
                int i = r * cols + c;
                codes[i] = mask != null && !mask[i] ? zero
                    : (int) Math.min(maxq, Math.max(0, Math.rint(w[i] / scale) + zero));
            }
        }
        return new PackQuantizedLayer(rows, cols, new PackQuantized.Scheme(bits, symmetric, 0), codes, scales, zeros, true);
    }

    /** The checkpoint tensors of this layer under {@code layer} (e.g. {@code model.layers.0.mlp.up_proj}). */
    public List<CheckpointWriter.Tensor> tensors(String layer) {
        return PackQuantized.tensors(layer, rows, cols, scheme, codes, scales, zeros);
    }

    /** The scheme {@link #of(LayerVariant.Quantized, boolean)} gives a variant, from its shape alone. */
    public static PackQuantized.Scheme schemeOf(LayerVariant.Quantized q, boolean symmetric) {
        return vllmGroupable(q.cols(), q.groupSize()) ? scheme(q.bits(), symmetric, q.groupSize(), q.cols())
            : new PackQuantized.Scheme(q.bits(), symmetric, 0);
    }

    /** The arrays the writer packs. */
    public PackQuantized.Arrays3 arrays() {
        return new PackQuantized.Arrays3(codes, scales, zeros);
    }

    /** The weights this layer loads as: scale * (code - zero), float32. */
    public float[] dequantize() {
        int groups = scheme.groups(cols);
        int g = scheme.groupSize() == 0 ? cols : scheme.groupSize();
        float[] out = new float[rows * cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                int p = r * groups + c / g;
                out[r * cols + c] = scales[p] * (codes[r * cols + c] - zeros[p]);
            }
        }
        return out;
    }
}
