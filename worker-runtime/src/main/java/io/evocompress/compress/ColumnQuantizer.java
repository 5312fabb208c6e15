package io.evocompress.compress;

/**
 * Quantizes a layer one weight at a time, in processing order, onto min-max grids (one per row and
 * group), and remembers every code and grid so the result can be stored as a {@link QuantizedWeight}.
 * Column indices here are processing positions (the act-order permutation, if any, is undone by
 * {@link #build}).
 */
final class ColumnQuantizer {
    private final QuantizationSpec spec;
    private final int rows;
    private final int columns;
    private final int groups;
    private final int[] codes;     // (rows, columns), processing order
    private final float[] scales;  // (rows, groups)
    private final int[] zeros;     // (rows, groups)

    ColumnQuantizer(QuantizationSpec spec, int rows, int columns) {
        this.spec = spec;
        this.rows = rows;
        this.columns = columns;
        this.groups = spec.groups(columns);
        this.codes = new int[rows * columns];
        this.scales = new float[rows * groups];
        this.zeros = new int[rows * groups];
    }

    QuantizationSpec spec() {
        return spec;
    }

    int group(int column) {
        return spec.perChannelGrid() ? 0 : column / spec.groupSize();
    }

    /** Whether a new group's grid must be fitted when processing reaches {@code column}. */
    boolean startsGroup(int column) {
        return !spec.perChannelGrid() && column % spec.groupSize() == 0;
    }

    /** The last processing column (exclusive) of the group that starts at {@code column}. */
    int groupEnd(int column) {
        return spec.perChannelGrid() ? columns : Math.min(columns, column + spec.groupSize());
    }

    /**
     * Fits each row's grid of {@code group} to x (rows, stride) row-major, over its columns [from, to).
     */
    void fit(int group, double[] x, int stride, int from, int to) {
        fit(group, x, stride, from, to, 0, rows);
    }

    /** As {@link #fit(int, double[], int, int, int)} for rows [r0, r1) only. */
    void fit(int group, double[] x, int stride, int from, int to, int r0, int r1) {
        for (int r = r0; r < r1; r++) {
            MinMaxGrid.fit(x, r * stride + from, r * stride + to, spec, scales, zeros, r * groups + group);
        }
    }

    /** Quantizes x at (row, processing column), records its code, and returns the dequantized value. */
    float quantize(int row, int column, double x) {
        int p = row * groups + group(column);
        int code = MinMaxGrid.code(x, scales[p], zeros[p], spec.maxCode());
        codes[row * columns + column] = code;
        return MinMaxGrid.dequantize(code, scales[p], zeros[p]);
    }

    /**
     * The stored form, in original column order: {@code order[k]} is the original column processed at
     * position k (null: processed in order).
     */
    QuantizedWeight build(int[] order) {
        int[] groupIndex = new int[columns];
        int[] original = new int[rows * columns];
        for (int k = 0; k < columns; k++) {
            int c = order == null ? k : order[k];
            groupIndex[c] = group(k);
            for (int r = 0; r < rows; r++) {
                original[r * columns + c] = codes[r * columns + k];
            }
        }
        return new QuantizedWeight(rows, columns, spec.bits(), spec.groupSize(), groupIndex,
            BitPacking.pack(original, spec.bits()), scales.clone(), zeros.clone());
    }
}
