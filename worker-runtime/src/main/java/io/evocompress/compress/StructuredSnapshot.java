package io.evocompress.compress;

import java.util.Arrays;

/**
 * A layer after structured pruning to one level (ALGORITHMS.md section 5, database): which
 * structures (MLP neurons or attention heads: groups of {@code width} consecutive input columns) were
 * removed, in the order the greedy OBS removed them, and the updated weight of what remains.
 *
 * @param rows          output features of the weight [rows, columns]
 * @param columns       input features of the dense weight
 * @param width         input columns per structure (1 for neurons, head_dim for heads)
 * @param removed       removed structure indices, in removal order; the level is their number
 * @param weight        the updated weight of the kept columns only, [rows, columns - removed * width],
 *                      row-major, kept structures in ascending order (a physically smaller matrix)
 * @param errorEstimate the OBS loss 1/2 sum_r dW_r (H + lambda I) dW_r^T of this snapshot against the
 *                      dense weight (dead input columns zeroed), as the sum of the greedy steps' losses
 */
public record StructuredSnapshot(int rows, int columns, int width, int[] removed, float[] weight,
                                 double errorEstimate) {
    public StructuredSnapshot {
        if (width < 1 || columns % width != 0) {
            throw new IllegalArgumentException("Structure width " + width + " must divide the " + columns + " columns");
        }
        if (weight.length != (long) rows * (columns - removed.length * width)) {
            throw new IllegalArgumentException("A snapshot with " + removed.length + " of " + columns / width
                + " structures removed holds " + (long) rows * (columns - removed.length * width) + " weights, not "
                + weight.length);
        }
    }

    /** The number of structures removed: the snapshot's level. */
    public int level() {
        return removed.length;
    }

    public int structures() {
        return columns / width;
    }

    /** The kept structure indices, ascending. */
    public int[] keptStructures() {
        boolean[] gone = new boolean[structures()];
        for (int s : removed) {
            gone[s] = true;
        }
        int[] kept = new int[structures() - removed.length];
        int k = 0;
        for (int s = 0; s < gone.length; s++) {
            if (!gone[s]) {
                kept[k++] = s;
            }
        }
        return kept;
    }

    /** The kept input columns, ascending: the columns of {@link #weight()}. */
    public int[] keptColumns() {
        int[] structures = keptStructures();
        int[] cols = new int[structures.length * width];
        for (int i = 0; i < structures.length; i++) {
            for (int c = 0; c < width; c++) {
                cols[i * width + c] = structures[i] * width + c;
            }
        }
        return cols;
    }

    /** The weight at its dense shape [rows, columns], removed columns zero. */
    public float[] denseWeight() {
        int[] cols = keptColumns();
        float[] full = new float[rows * columns];
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < cols.length; i++) {
                full[r * columns + cols[i]] = weight[r * cols.length + i];
            }
        }
        return full;
    }

    @Override
    public String toString() {
        return "StructuredSnapshot[level " + level() + " of " + structures() + ", removed " + Arrays.toString(removed)
            + ", error " + errorEstimate + "]";
    }
}
