package io.evocompress.model;

import java.util.List;

/**
 * One checkpoint tensor that stores several linear layers of a block stacked by rows, split into its
 * parts on load and fused again on save: Phi-3's {@code qkv_proj} ([q; k; v]) and
 * {@code gate_up_proj} ([gate; up]), or, {@code perHead}, BLOOM's {@code query_key_value}, whose rows
 * are per head [q_h; k_h; v_h] (every part then has one block of head_dim rows per head).
 *
 * @param path    the tensor's name inside a block without {@code .weight}/{@code .bias}
 * @param parts   the layers it holds, in row order
 * @param perHead rows interleaved per head (BLOOM) instead of part after part
 */
public record FusedLinear(String path, List<LinearName> parts, boolean perHead) {
    public FusedLinear {
        parts = List.copyOf(parts);
    }

    /**
     * Splits a fused row-major [sum(partRows), columns] array into its parts; {@code headDim} is the
     * size of a per-head block (perHead only).
     */
    public float[][] split(float[] fused, int[] partRows, int columns, int headDim) {
        float[][] out = new float[partRows.length][];
        for (int p = 0; p < partRows.length; p++) {
            out[p] = new float[partRows[p] * columns];
        }
        if (!perHead) {
            int offset = 0;
            for (int p = 0; p < partRows.length; p++) {
                System.arraycopy(fused, offset, out[p], 0, out[p].length);
                offset += out[p].length;
            }
            return out;
        }
        int heads = partRows[0] / headDim;
        int block = headDim * columns;
        for (int h = 0; h < heads; h++) {
            for (int p = 0; p < partRows.length; p++) {
                System.arraycopy(fused, (h * partRows.length + p) * block, out[p], h * block, block);
            }
        }
        return out;
    }

    /** The inverse of {@link #split}. */
    public float[] fuse(float[][] parts, int[] partRows, int columns, int headDim) {
        int total = 0;
        for (float[] p : parts) {
            total += p.length;
        }
        float[] out = new float[total];
        if (!perHead) {
            int offset = 0;
            for (float[] p : parts) {
                System.arraycopy(p, 0, out, offset, p.length);
                offset += p.length;
            }
            return out;
        }
        int heads = partRows[0] / headDim;
        int block = headDim * columns;
        for (int h = 0; h < heads; h++) {
            for (int p = 0; p < parts.length; p++) {
                System.arraycopy(parts[p], h * block, out, (h * parts.length + p) * block, block);
            }
        }
        return out;
    }

    /** Whether the parts' rows can be laid out this way: per head needs every part with the same head count. */
    public boolean fits(int[] partRows, int headDim) {
        if (!perHead) {
            return true;
        }
        for (int r : partRows) {
            if (r != partRows[0] || r % headDim != 0) {
                return false;
            }
        }
        return true;
    }
}
