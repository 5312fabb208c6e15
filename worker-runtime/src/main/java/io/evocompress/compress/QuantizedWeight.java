package io.evocompress.compress;

/**
 * A quantized linear weight [rows = out, columns = in] as stored: packed integer codes, and a scale
 * and integer zero point per output row and group. Weight (r, c) is
 * {@code scales[r * groups + g] * (code(r, c) - zeros[r * groups + g])} with g = groupIndex[c]
 * (in float32 arithmetic, exactly as {@link #dequantize()} and the compressors compute it).
 *
 * @param groupSize   input columns per group; 0 for one grid per row
 * @param groupIndex  the group of each input column (with act-order, groups follow the processing
 *                    order, so they need not be contiguous in column order)
 * @param packedCodes row-major codes, {@code bits} each, see {@link BitPacking}
 * @param scales      (rows, groups)
 * @param zeros       (rows, groups), each in [0, 2^bits - 1]
 */
public record QuantizedWeight(int rows, int columns, int bits, int groupSize, int[] groupIndex, int[] packedCodes,
                              float[] scales, int[] zeros) {
    public QuantizedWeight {
        if (groupIndex.length != columns) {
            throw new IllegalArgumentException("groupIndex must hold one group per column (" + columns + "), but held "
                + groupIndex.length);
        }
        if (scales.length != zeros.length || scales.length % rows != 0) {
            throw new IllegalArgumentException("scales and zeros must both hold rows * groups entries, but held "
                + scales.length + " and " + zeros.length + " for " + rows + " rows");
        }
        if (packedCodes.length != (int) (((long) rows * columns * bits + 31) / 32)) {
            throw new IllegalArgumentException("packedCodes must hold " + (long) rows * columns + " codes of " + bits
                + " bits, but held " + packedCodes.length + " ints");
        }
    }

    public int groups() {
        return scales.length / rows;
    }

    public int code(int row, int column) {
        return BitPacking.get(packedCodes, bits, (long) row * columns + column);
    }

    /** The dequantized weight, row-major (rows, columns). */
    public float[] dequantize() {
        int groups = groups();
        float[] w = new float[rows * columns];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < columns; c++) {
                int p = r * groups + groupIndex[c];
                w[r * columns + c] = MinMaxGrid.dequantize(code(r, c), scales[p], zeros[p]);
            }
        }
        return w;
    }

    /** Storage in bits: codes plus a 16-bit scale and a {@code bits}-bit zero per group. */
    public long storageBits() {
        return (long) rows * columns * bits + (long) scales.length * (16 + bits);
    }
}
