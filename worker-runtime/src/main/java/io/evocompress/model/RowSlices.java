package io.evocompress.model;

import io.evocompress.checkpoint.CheckpointReader;
import io.evocompress.device.EngineTransfer;

import java.security.MessageDigest;

/**
 * A checkpoint tensor larger than one slice ({@link EngineTransfer#chunkBytes()} in float32, 256 MiB by
 * default) read in row slices along its first dimension, so that no Java array holds more than one slice:
 * BLOOM-176B's tied 250880 x 14336 {@code word_embeddings} (3.6e9 values) fits no Java array, and is read
 * onto the device slice by slice ({@link ModelLoader.Loader}). The slices' values are those of the whole
 * tensor, and a digest fed the slices in order sees the bytes of one whole read.
 */
public final class RowSlices {
    private RowSlices() {
    }

    /** Receives one slice: rows {@code [row0, row0 + rows)}, row-major float32. */
    @FunctionalInterface
    public interface Sink {
        void accept(long row0, int rows, float[] values);
    }

    /** Reads a (checkpoint) tensor by name in row slices, in order, into a sink. */
    @FunctionalInterface
    public interface Source {
        void read(String name, Sink sink);
    }

    /** Whether a tensor of {@code shape} is read in slices: its float32 values exceed one slice. */
    public static boolean sliced(long[] shape) {
        if (shape.length == 0) {
            return false;
        }
        long numel = 1;
        for (long d : shape) {
            numel *= d;
        }
        return numel * Float.BYTES > EngineTransfer.chunkBytes() && shape[0] > 1;
    }

    /** Rows per slice of a tensor of {@code shape}: as many as one slice holds in float32, at least 1. */
    public static int rowsPerSlice(long[] shape) {
        long rowElements = 1;
        for (int i = 1; i < shape.length; i++) {
            rowElements *= shape[i];
        }
        return EngineTransfer.rowsPerSlice(Math.max(1, rowElements), Float.BYTES);
    }

    /**
     * Reads checkpoint tensor {@code name} in slices of {@link #rowsPerSlice} rows, in order, feeding their raw
     * bytes to {@code digest} when not null.
     */
    public static void read(CheckpointReader checkpoint, String name, MessageDigest digest, Sink sink) {
        long[] shape = checkpoint.info(name).shape();
        long rows = shape.length == 0 ? 1 : shape[0];
        int step = rowsPerSlice(shape);
        for (long r0 = 0; r0 < rows; r0 += step) {
            int n = (int) Math.min(step, rows - r0);
            sink.accept(r0, n, checkpoint.readRows(name, r0, n, digest));
        }
    }
}
