package io.evocompress.compress;

import ai.djl.ndarray.NDArray;

/**
 * The round-to-nearest baseline: every weight rounded onto the same min-max grids GPTQ uses (one per
 * row and group of consecutive columns, fitted on the original weights), with no error compensation.
 */
public final class RoundToNearest {
    private RoundToNearest() {
    }

    public static CompressedLayer quantize(NDArray weight, QuantizationSpec quantization) {
        DenseWeight w = DenseWeight.of(weight);
        int rows = w.rows();
        int cols = w.columns();
        float[] values = w.values();
        double[] x = new double[values.length];
        for (int i = 0; i < values.length; i++) {
            x[i] = values[i];
        }
        ColumnQuantizer quantizer = new ColumnQuantizer(quantization, rows, cols);
        float[] out = new float[values.length];
        for (int c = 0; c < cols; c++) {
            if (c == 0 || quantizer.startsGroup(c)) {
                quantizer.fit(quantizer.group(c), x, cols, c, quantizer.groupEnd(c));
            }
            for (int r = 0; r < rows; r++) {
                out[r * cols + c] = quantizer.quantize(r, c, x[r * cols + c]);
            }
        }
        return new CompressedLayer(rows, cols, out, Double.NaN, quantizer.build(null));
    }
}
