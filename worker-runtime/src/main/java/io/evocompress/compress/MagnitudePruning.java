package io.evocompress.compress;

import ai.djl.ndarray.NDArray;

/**
 * The magnitude baseline: zero the smallest |w| of the whole layer (exactly round(fraction * numel)),
 * or, for N:M, the N smallest of every M columns of a row. No calibration data, no weight update.
 */
public final class MagnitudePruning {
    private MagnitudePruning() {
    }

    public static CompressedLayer prune(NDArray weight, SparsityPattern pattern) {
        DenseWeight w = DenseWeight.of(weight);
        pattern.checkColumns(w.columns());
        float[] values = w.values();
        // score |w|   (rows, cols)
        double[] scores = new double[values.length];
        for (int i = 0; i < values.length; i++) {
            scores[i] = Math.abs(values[i]);
        }
        boolean[] mask = new boolean[values.length];
        if (pattern.isNOfM()) {
            MaskSelection.markNOfM(scores, w.rows(), w.columns(), pattern, mask);
        } else {
            MaskSelection.markLowest(scores, 0, values.length, pattern.zerosIn(values.length), mask);
        }
        return new CompressedLayer(w.rows(), w.columns(), applyMask(values, mask), Double.NaN, null);
    }

    static float[] applyMask(float[] values, boolean[] mask) {
        float[] out = values.clone();
        for (int i = 0; i < out.length; i++) {
            if (mask[i]) {
                out[i] = 0f;
            }
        }
        return out;
    }
}
