package io.evocompress.device;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * Java arrays to and from 2-D engine arrays in row slices of at most {@link #chunkBytes()} bytes (256
 * MiB): DJL passes an array through one {@link java.nio.ByteBuffer}, which caps at 2 GiB, so a weight
 * larger than that (BLOOM-176B's 14,336 x 57,344 dense_4h_to_h is 3.3 GB in float32) cannot go in one
 * piece. Arrays within one chunk go as before, in one piece; the values are the same either way.
 */
public final class EngineTransfer {
    /** System property, in bytes: the largest slice or row block (default 256 MiB); for tests of the sliced path. */
    public static final String CHUNK_PROPERTY = "evocompress.rowBlockBytes";
    private static final long DEFAULT_CHUNK_BYTES = 256L << 20;

    private EngineTransfer() {
    }

    /** The bytes of one slice at most: the system property {@value #CHUNK_PROPERTY}, else 256 MiB. */
    public static long chunkBytes() {
        return Math.max(1, Long.getLong(CHUNK_PROPERTY, DEFAULT_CHUNK_BYTES));
    }

    /** Rows of {@code columns} values of {@code valueBytes} each per slice; at least 1. */
    public static int rowsPerSlice(long columns, int valueBytes) {
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, chunkBytes() / (columns * valueBytes)));
    }

    /** {@code values} (rows, cols), row-major, as a float32 engine array of {@code manager}. */
    public static NDArray create(NDManager manager, float[] values, int rows, int cols) {
        check(values.length, rows, cols);
        if ((long) values.length * Float.BYTES <= chunkBytes()) {
            return manager.create(values, new Shape(rows, cols));
        }
        NDArray out = manager.zeros(new Shape(rows, cols), DataType.FLOAT32);
        int step = rowsPerSlice(cols, Float.BYTES);
        for (int r0 = 0; r0 < rows; r0 += step) {
            int r1 = Math.min(rows, r0 + step);
            float[] part = java.util.Arrays.copyOfRange(values, r0 * cols, r1 * cols);
            try (NDArray slice = manager.create(part, new Shape(r1 - r0, cols))) {
                out.set(new NDIndex(r0 + ":" + r1 + ", :"), slice);
            }
        }
        return out;
    }

    /** {@code values} (rows, cols), row-major, as a float64 engine array of {@code manager}. */
    public static NDArray create(NDManager manager, double[] values, int rows, int cols) {
        check(values.length, rows, cols);
        if ((long) values.length * Double.BYTES <= chunkBytes()) {
            return manager.create(values, new Shape(rows, cols));
        }
        NDArray out = manager.zeros(new Shape(rows, cols), DataType.FLOAT64);
        int step = rowsPerSlice(cols, Double.BYTES);
        for (int r0 = 0; r0 < rows; r0 += step) {
            int r1 = Math.min(rows, r0 + step);
            double[] part = java.util.Arrays.copyOfRange(values, r0 * cols, r1 * cols);
            try (NDArray slice = manager.create(part, new Shape(r1 - r0, cols))) {
                out.set(new NDIndex(r0 + ":" + r1 + ", :"), slice);
            }
        }
        return out;
    }

    /** A 2-D float32 engine array's values, row-major. */
    public static float[] toFloatArray(NDArray a) {
        Shape s = shape2(a);
        int rows = Math.toIntExact(s.get(0));
        int cols = Math.toIntExact(s.get(1));
        if (s.size() * Float.BYTES <= chunkBytes()) {
            return a.toFloatArray();
        }
        float[] out = new float[Math.toIntExact(s.size())];
        int step = rowsPerSlice(cols, Float.BYTES);
        for (int r0 = 0; r0 < rows; r0 += step) {
            int r1 = Math.min(rows, r0 + step);
            try (NDArray slice = a.get(new NDIndex(r0 + ":" + r1 + ", :"))) {
                float[] part = slice.toFloatArray();
                System.arraycopy(part, 0, out, r0 * cols, part.length);
            }
        }
        return out;
    }

    /** A 2-D float64 engine array's values, row-major. */
    public static double[] toDoubleArray(NDArray a) {
        Shape s = shape2(a);
        int rows = Math.toIntExact(s.get(0));
        int cols = Math.toIntExact(s.get(1));
        if (s.size() * Double.BYTES <= chunkBytes()) {
            return a.toDoubleArray();
        }
        double[] out = new double[Math.toIntExact(s.size())];
        int step = rowsPerSlice(cols, Double.BYTES);
        for (int r0 = 0; r0 < rows; r0 += step) {
            int r1 = Math.min(rows, r0 + step);
            try (NDArray slice = a.get(new NDIndex(r0 + ":" + r1 + ", :"))) {
                double[] part = slice.toDoubleArray();
                System.arraycopy(part, 0, out, r0 * cols, part.length);
            }
        }
        return out;
    }

    private static void check(int length, int rows, int cols) {
        if (length != (long) rows * cols) {
            throw new IllegalArgumentException("Expected rows * cols = " + (long) rows * cols + " values, but got " + length);
        }
    }

    private static Shape shape2(NDArray a) {
        Shape s = a.getShape();
        if (s.dimension() != 2) {
            throw new IllegalArgumentException("Expected a 2-D array, but got shape " + s);
        }
        return s;
    }
}
