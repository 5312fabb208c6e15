package io.evocompress.calibration;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * An n x n matrix of float64 held as blocks of whole rows, each block one Java array of at most
 * {@link #chunkBytes()} bytes (256 MiB), so that no Hessian is ever one Java array (which caps at
 * 2^31 - 1 entries, n = 46,340) nor one {@link java.nio.ByteBuffer} (2 GiB): a 57,344-input Hessian
 * is 3.3e9 entries, 26 GB, in about 100 blocks of 585 rows. Engine arrays are filled and read by the
 * same row-block slices ({@link #toNDArray}, {@link #fromNDArray}).
 *
 * <p>The block size never changes a value: every path that reads or writes the matrix visits the
 * entries in row-major order, block after block, so results are identical whatever the chunk size
 * (tests lower it with the system property {@value #CHUNK_PROPERTY} so that small matrices span
 * many blocks).
 */
public final class RowBlockMatrix {
    /** System property, in bytes: the largest row block (default 256 MiB); for tests of the chunked path. */
    public static final String CHUNK_PROPERTY = io.evocompress.device.EngineTransfer.CHUNK_PROPERTY;

    private final int n;
    private final int rowsPerBlock;
    private final double[][] blocks;

    /** An n x n matrix of zeros. */
    public RowBlockMatrix(int n) {
        if (n < 1) {
            throw new IllegalArgumentException("A matrix needs at least one row, but n was " + n);
        }
        this.n = n;
        this.rowsPerBlock = rowsPerBlock(n, Double.BYTES);
        int count = (n + rowsPerBlock - 1) / rowsPerBlock;
        this.blocks = new double[count][];
        for (int b = 0; b < count; b++) {
            blocks[b] = new double[blockRows(b) * n];
        }
    }

    /** The bytes of one row block at most: the system property {@value #CHUNK_PROPERTY}, else 256 MiB. */
    public static long chunkBytes() {
        return io.evocompress.device.EngineTransfer.chunkBytes();
    }

    /** Rows of {@code columns} values of {@code valueBytes} each per block of at most {@link #chunkBytes()}; at least 1. */
    public static int rowsPerBlock(int columns, int valueBytes) {
        long rows = chunkBytes() / ((long) columns * valueBytes);
        return (int) Math.max(1, Math.min(columns, rows));
    }

    /** A copy of {@code values} (n * n, row-major) in row blocks. */
    public static RowBlockMatrix of(double[] values, int n) {
        if (values.length != (long) n * n) {
            throw new IllegalArgumentException("Expected " + (long) n * n + " entries for an " + n + " x " + n
                + " matrix, but got " + values.length);
        }
        RowBlockMatrix m = new RowBlockMatrix(n);
        for (int b = 0; b < m.blocks.length; b++) {
            System.arraycopy(values, m.blockStart(b) * n, m.blocks[b], 0, m.blocks[b].length);
        }
        return m;
    }

    public int dim() {
        return n;
    }

    public int rowsPerBlock() {
        return rowsPerBlock;
    }

    public int blockCount() {
        return blocks.length;
    }

    /** The first row of block {@code b}. */
    public int blockStart(int b) {
        return b * rowsPerBlock;
    }

    /** The rows in block {@code b}. */
    public int blockRows(int b) {
        return Math.min(rowsPerBlock, n - b * rowsPerBlock);
    }

    /** Block {@code b}: rows [blockStart(b), blockStart(b) + blockRows(b)) row-major; the matrix's own array. */
    public double[] block(int b) {
        return blocks[b];
    }

    /** The block array holding row {@code i} (its row starts at {@link #offset(int)} there). */
    public double[] blockOfRow(int i) {
        return blocks[i / rowsPerBlock];
    }

    /** Where row {@code i} starts in {@link #blockOfRow(int)}. */
    public int offset(int i) {
        return (i % rowsPerBlock) * n;
    }

    public double get(int i, int j) {
        return blocks[i / rowsPerBlock][(i % rowsPerBlock) * n + j];
    }

    public void set(int i, int j, double v) {
        blocks[i / rowsPerBlock][(i % rowsPerBlock) * n + j] = v;
    }

    /** diag, a fresh array. */
    public double[] diagonal() {
        double[] d = new double[n];
        for (int i = 0; i < n; i++) {
            d[i] = get(i, i);
        }
        return d;
    }

    /** A deep copy (same block layout). */
    public RowBlockMatrix copy() {
        RowBlockMatrix c = new RowBlockMatrix(n, rowsPerBlock);
        for (int b = 0; b < blocks.length; b++) {
            c.blocks[b] = blocks[b].clone();
        }
        return c;
    }

    private RowBlockMatrix(int n, int rowsPerBlock) {
        this.n = n;
        this.rowsPerBlock = rowsPerBlock;
        this.blocks = new double[(n + rowsPerBlock - 1) / rowsPerBlock][];
    }

    /**
     * The whole matrix as one row-major array, for matrices whose n^2 entries fit one Java array
     * (tests, the float64 reference paths); a clear error beyond.
     */
    public double[] toArray() {
        long size = (long) n * n;
        if (size > Integer.MAX_VALUE - 8) {
            throw new IllegalStateException("An " + n + " x " + n + " matrix (" + size + " entries) does not fit one Java "
                + "array: use its row blocks");
        }
        double[] out = new double[(int) size];
        for (int b = 0; b < blocks.length; b++) {
            System.arraycopy(blocks[b], 0, out, blockStart(b) * n, blocks[b].length);
        }
        return out;
    }

    /**
     * The matrix as an engine array (n, n) of {@code type} (FLOAT64, or FLOAT32 rounded as a Java cast)
     * owned by {@code manager}, filled one row block at a time, so that no Java array or buffer beyond one
     * block is made.
     */
    public NDArray toNDArray(NDManager manager, DataType type) {
        NDArray out = manager.zeros(new Shape(n, n), type);
        for (int b = 0; b < blocks.length; b++) {
            int r0 = blockStart(b);
            int rows = blockRows(b);
            try (NDArray part = type == DataType.FLOAT32 ? manager.create(toFloat(blocks[b]), new Shape(rows, n))
                : type == DataType.FLOAT64 ? manager.create(blocks[b], new Shape(rows, n))
                : manager.create(blocks[b], new Shape(rows, n)).toType(type, false)) {
                out.set(new NDIndex(r0 + ":" + (r0 + rows) + ", :"), part);
            }
        }
        return out;
    }

    /** A copy of a square engine array (n, n) of any float type, read one row block at a time in float64. */
    public static RowBlockMatrix fromNDArray(NDArray a) {
        Shape s = a.getShape();
        if (s.dimension() != 2 || s.get(0) != s.get(1)) {
            throw new IllegalArgumentException("Expected a square matrix, but got shape " + s);
        }
        RowBlockMatrix m = new RowBlockMatrix(Math.toIntExact(s.get(0)));
        for (int b = 0; b < m.blocks.length; b++) {
            int r0 = m.blockStart(b);
            try (NDArray part = a.get(new NDIndex(r0 + ":" + (r0 + m.blockRows(b)) + ", :"));
                 NDArray asDouble = part.toType(DataType.FLOAT64, false)) {
                double[] v = asDouble.toDoubleArray();
                System.arraycopy(v, 0, m.blocks[b], 0, v.length);
            }
        }
        return m;
    }

    private static float[] toFloat(double[] v) {
        float[] f = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            f[i] = (float) v[i];
        }
        return f;
    }
}
