package io.evocompress.compress;

import ai.djl.ndarray.NDArray;

/**
 * Wanda (ALGORITHMS.md section 2, baselines): score |W_ij| * ||X_j||_2 and zero the lowest scores
 * of each output row (exactly round(fraction * in) per row), or the N lowest of every M columns of a
 * row for N:M. No weight update.
 */
public final class Wanda {
    private Wanda() {
    }

    /**
     * @param columnNorms ||X_j||_2 of the layer's input over the calibration tokens, [in]
     *                    ({@link io.evocompress.calibration.InputStatistics#columnNorms()})
     */
    public static CompressedLayer prune(NDArray weight, double[] columnNorms, SparsityPattern pattern) {
        DenseWeight w = DenseWeight.of(weight);
        int rows = w.rows();
        int cols = w.columns();
        if (columnNorms.length != cols) {
            throw new IllegalArgumentException("Wanda needs one input norm per input feature (" + cols + "), but got "
                + columnNorms.length);
        }
        pattern.checkColumns(cols);
        float[] values = w.values();
        // score |W_ij| * ||X_j||_2   (rows, cols)
        double[] scores = new double[values.length];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                scores[r * cols + c] = Math.abs(values[r * cols + c]) * columnNorms[c];
            }
        }
        boolean[] mask = new boolean[values.length];
        if (pattern.isNOfM()) {
            MaskSelection.markNOfM(scores, rows, cols, pattern, mask);
        } else {
            int perRow = pattern.zerosIn(cols);
            for (int r = 0; r < rows; r++) {
                MaskSelection.markLowest(scores, r * cols, (r + 1) * cols, perRow, mask);
            }
        }
        return new CompressedLayer(rows, cols, MagnitudePruning.applyMask(values, mask), Double.NaN, null);
    }
}
