package io.evocompress.calibration;

import io.evocompress.EvocompressException;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32;

/**
 * The on-disk form of one input's {@link PartialStatistics}: float64 by default, so nothing of the
 * accumulated precision is lost, and a CRC32 at the end, so a truncated or corrupted file is
 * detected on read. Version 2 stores H in float32 (half the bytes; {@code calibration.hessian-dtype:
 * float32}), rounded once from the float64 sums; it is read back as float64.
 *
 * <pre>
 * "EVOH" | version u8 | dim i32 | sequences i64 | H dim*dim f64 (row-major) | sumSquares dim f64 | crc32 i32
 * version 2: the same with H dim*dim f32
 * </pre>
 * All numbers little-endian.
 *
 * <p>Files are written and read as streams, one row block of H at a time ({@link RowBlockMatrix}), so
 * a file may be larger than a Java array or buffer (2 GiB): a 57,344-input Hessian is 26 GB in float64.
 * {@link #combine(List, List, long[], boolean, OutputStream)} adds shards' files into one the same way,
 * one row block of each at a time. The byte-array forms ({@link #encode}, {@link #decode}) are the same
 * format, for files that fit one array.
 */
public final class HessianFile {
    private static final byte[] MAGIC = {'E', 'V', 'O', 'H'};
    private static final int VERSION = 1;
    private static final int VERSION_FLOAT32 = 2;
    private static final int HEADER = 4 + 1 + 4 + 8;

    private HessianFile() {
    }

    /** The file's size in bytes for a Hessian of {@code dim} features. */
    public static long size(int dim, boolean float32) {
        return HEADER + (float32 ? 4L : 8L) * dim * dim + 8L * dim + 4;
    }

    public static byte[] encode(PartialStatistics stats) {
        return encode(stats, false);
    }

    /** With {@code float32}, H is stored in float32 (version 2). For files under 2 GiB; {@link #write} streams any size. */
    public static byte[] encode(PartialStatistics stats, boolean float32) {
        long size = size(stats.dim(), float32);
        if (size > Integer.MAX_VALUE - 8) {
            throw new EvocompressException("A Hessian of " + stats.dim() + " features (" + size + " bytes) is too large "
                + "for one byte array: write it as a stream (HessianFile.write)");
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream((int) size);
        try {
            write(stats, float32, out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /** Writes the file to {@code out} (not closed), one row block of H at a time; returns the bytes written. */
    public static long write(PartialStatistics stats, boolean float32, OutputStream out) throws IOException {
        Hessian h = stats.hessian();
        Writer w = new Writer(out, h.dim(), h.sequences(), float32);
        RowBlockMatrix rows = h.rows();
        for (int b = 0; b < rows.blockCount(); b++) {
            w.rows(rows.block(b), rows.blockRows(b));
        }
        return w.finish(stats.sumSquares());
    }

    /**
     * Writes the file of an engine array H (dim, dim) to {@code out} (not closed), reading it off its device one
     * row block at a time (as float64): the same bytes as {@link #write(PartialStatistics, boolean, OutputStream)}
     * of a {@link Hessian} read from it. Returns the bytes written.
     */
    public static long write(ai.djl.ndarray.NDArray hessian, long sequences, double[] sumSquares, boolean float32,
                             OutputStream out) throws IOException {
        int dim = Math.toIntExact(hessian.getShape().get(0));
        Writer w = new Writer(out, dim, sequences, float32);
        int rowsPerBlock = RowBlockMatrix.rowsPerBlock(dim, Double.BYTES);
        for (int r0 = 0; r0 < dim; r0 += rowsPerBlock) {
            int r1 = Math.min(dim, r0 + rowsPerBlock);
            try (ai.djl.ndarray.NDArray part = hessian.get(new ai.djl.ndarray.index.NDIndex(r0 + ":" + r1 + ", :"));
                 ai.djl.ndarray.NDArray asDouble = part.toType(ai.djl.ndarray.types.DataType.FLOAT64, false)) {
                w.rows(asDouble.toDoubleArray(), r1 - r0);
            }
        }
        return w.finish(sumSquares);
    }

    /** Decodes a file's bytes; {@code where} (the file) is named in every error. */
    public static PartialStatistics decode(byte[] bytes, String where) {
        try {
            return read(new ByteArrayInputStream(bytes), bytes.length, where);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Reads a file from {@code in} (not closed), one row block of H at a time; {@code length} is the
     * file's size when known (checked against the header before anything is allocated), else -1.
     */
    public static PartialStatistics read(InputStream in, long length, String where) throws IOException {
        Reader r = new Reader(in, length, where);
        RowBlockMatrix h = new RowBlockMatrix(r.dim);
        for (int b = 0; b < h.blockCount(); b++) {
            r.rows(h.block(b), h.blockRows(b));
        }
        double[] sq = r.finish();
        return new PartialStatistics(new Hessian(r.dim, r.sequences, h), sq);
    }

    /**
     * Combines shards' files into one ({@link PartialStatistics#combine} and {@link #write}), reading and
     * writing one row block at a time: the same bytes as decoding every part, combining and encoding,
     * with (parts + 1) row blocks in memory instead of (parts + 1) Hessians.
     *
     * @param parts   the shards' files in shard-index order (not closed)
     * @param where   each part's name, for errors
     * @param lengths each part's size, -1 where not known
     * @return the bytes written
     */
    public static long combine(List<InputStream> parts, List<String> where, long[] lengths, boolean float32,
                               OutputStream out) throws IOException {
        if (parts.isEmpty()) {
            throw new IllegalArgumentException("Nothing to combine: no partial statistics given");
        }
        List<Reader> readers = new ArrayList<>();
        for (int p = 0; p < parts.size(); p++) {
            readers.add(new Reader(parts.get(p), lengths[p], where.get(p)));
        }
        int dim = readers.get(0).dim;
        long total = 0;
        for (Reader r : readers) {
            if (r.dim != dim) {
                throw new EvocompressException("Cannot combine statistics of " + dim + " and " + r.dim + " features ("
                    + r.where + ")");
            }
            total += r.sequences;
        }
        double[] weights = new double[readers.size()];
        for (int p = 0; p < weights.length; p++) {
            weights[p] = (double) readers.get(p).sequences / total;
        }
        Writer w = new Writer(out, dim, total, float32);
        int rowsPerBlock = RowBlockMatrix.rowsPerBlock(dim, Double.BYTES);
        double[] sum = new double[rowsPerBlock * dim];
        double[] part = new double[rowsPerBlock * dim];
        for (int r0 = 0; r0 < dim; r0 += rowsPerBlock) {
            int rows = Math.min(rowsPerBlock, dim - r0);
            int count = rows * dim;
            java.util.Arrays.fill(sum, 0, count, 0.0);
            // every entry: the sum over the parts in shard order, as PartialStatistics.combine
            for (int p = 0; p < readers.size(); p++) {
                readers.get(p).rows(part, rows);
                double weight = weights[p];
                for (int i = 0; i < count; i++) {
                    sum[i] += weight * part[i];
                }
            }
            w.rows(sum, rows);
        }
        double[] sq = new double[dim];
        for (Reader r : readers) {
            double[] s = r.finish();
            for (int j = 0; j < dim; j++) {
                sq[j] += s[j];
            }
        }
        return w.finish(sq);
    }

    /** Writes one file: the header, then rows of H in order, then the sums of squares and the CRC. */
    private static final class Writer {
        private final OutputStream out;
        private final int dim;
        private final boolean float32;
        private final CRC32 crc = new CRC32();
        private long written;
        private long rowsWritten;
        private ByteBuffer buffer;

        Writer(OutputStream out, int dim, long sequences, boolean float32) throws IOException {
            this.out = out;
            this.dim = dim;
            this.float32 = float32;
            ByteBuffer header = ByteBuffer.allocate(HEADER).order(ByteOrder.LITTLE_ENDIAN);
            header.put(MAGIC).put((byte) (float32 ? VERSION_FLOAT32 : VERSION)).putInt(dim).putLong(sequences);
            emit(header);
        }

        /** The next {@code rows} rows of H, row-major in {@code values}. */
        void rows(double[] values, int rows) throws IOException {
            int count = rows * dim;
            int bytes = count * (float32 ? Float.BYTES : Double.BYTES);
            if (buffer == null || buffer.capacity() < bytes) {
                buffer = ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN);
            }
            buffer.clear();
            for (int i = 0; i < count; i++) {
                if (float32) {
                    buffer.putFloat((float) values[i]);
                } else {
                    buffer.putDouble(values[i]);
                }
            }
            emit(buffer);
            rowsWritten += rows;
        }

        long finish(double[] sumSquares) throws IOException {
            if (rowsWritten != dim) {
                throw new IllegalStateException("Wrote " + rowsWritten + " rows of a Hessian of " + dim);
            }
            ByteBuffer tail = ByteBuffer.allocate(8 * dim).order(ByteOrder.LITTLE_ENDIAN);
            for (double v : sumSquares) {
                tail.putDouble(v);
            }
            emit(tail);
            ByteBuffer end = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
            end.putInt((int) crc.getValue());
            out.write(end.array(), 0, 4);
            return written + 4;
        }

        private void emit(ByteBuffer b) throws IOException {
            int n = b.position();
            crc.update(b.array(), 0, n);
            out.write(b.array(), 0, n);
            written += n;
        }
    }

    /** Reads one file: the header on construction, then rows of H in order, then the sums of squares and the CRC. */
    private static final class Reader {
        private final InputStream in;
        private final String where;
        private final CRC32 crc = new CRC32();
        private final boolean float32;
        final int dim;
        final long sequences;
        private byte[] buffer;

        Reader(InputStream in, long length, String where) throws IOException {
            this.in = in;
            this.where = where;
            if (length >= 0 && length < HEADER + 4) {
                throw truncated(length + " bytes is shorter than a Hessian header");
            }
            ByteBuffer header = ByteBuffer.wrap(read(HEADER, "a Hessian header")).order(ByteOrder.LITTLE_ENDIAN);
            for (byte m : MAGIC) {
                if (header.get() != m) {
                    throw new EvocompressException(where + " is not a Hessian file (bad magic).");
                }
            }
            int version = header.get();
            if (version != VERSION && version != VERSION_FLOAT32) {
                throw new EvocompressException(where + " has Hessian format version " + version + "; this build reads "
                    + VERSION + " and " + VERSION_FLOAT32 + ".");
            }
            this.float32 = version == VERSION_FLOAT32;
            this.dim = header.getInt();
            this.sequences = header.getLong();
            if (dim < 1 || (length >= 0 && length != size(dim, float32))) {
                throw new EvocompressException(where + " is inconsistent: " + (length >= 0 ? length + " bytes" : "a header")
                    + " for a Hessian of " + dim + " features.");
            }
        }

        /** The next {@code rows} rows of H into {@code into} (row-major, from index 0), as float64. */
        void rows(double[] into, int rows) throws IOException {
            int count = rows * dim;
            ByteBuffer b = ByteBuffer.wrap(read(count * (float32 ? Float.BYTES : Double.BYTES), "its Hessian"))
                .order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < count; i++) {
                into[i] = float32 ? b.getFloat() : b.getDouble();
            }
        }

        /** The sums of squares, after the last row; checks the CRC and that nothing follows. */
        double[] finish() throws IOException {
            ByteBuffer b = ByteBuffer.wrap(read(8 * dim, "its sums of squares")).order(ByteOrder.LITTLE_ENDIAN);
            double[] sq = new double[dim];
            for (int j = 0; j < dim; j++) {
                sq[j] = b.getDouble();
            }
            byte[] end = in.readNBytes(4);
            if (end.length < 4) {
                throw truncated("it ends inside its checksum");
            }
            int stored = ByteBuffer.wrap(end).order(ByteOrder.LITTLE_ENDIAN).getInt();
            if (stored != (int) crc.getValue()) {
                throw new EvocompressException(where + " is corrupt or truncated (checksum mismatch): delete it and rerun "
                    + "build-db.");
            }
            if (in.read() != -1) {
                throw new EvocompressException(where + " is inconsistent: bytes follow the checksum of a Hessian of " + dim
                    + " features.");
            }
            return sq;
        }

        private byte[] read(int bytes, String what) throws IOException {
            if (buffer == null || buffer.length != bytes) {
                buffer = new byte[bytes];
            }
            int got = in.readNBytes(buffer, 0, bytes);
            if (got < bytes) {
                throw truncated("it ends inside " + what);
            }
            crc.update(buffer, 0, bytes);
            return buffer;
        }

        private EvocompressException truncated(String detail) {
            return new EvocompressException(where + " is truncated: " + detail + ". Delete it and rerun build-db.");
        }
    }
}
