package io.evocompress.calibration;

import io.evocompress.EvocompressException;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
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
 */
public final class HessianFile {
    private static final byte[] MAGIC = {'E', 'V', 'O', 'H'};
    private static final int VERSION = 1;
    private static final int VERSION_FLOAT32 = 2;
    private static final int HEADER = 4 + 1 + 4 + 8;

    private HessianFile() {
    }

    public static byte[] encode(PartialStatistics stats) {
        return encode(stats, false);
    }

    /** With {@code float32}, H is stored in float32 (version 2). */
    public static byte[] encode(PartialStatistics stats, boolean float32) {
        int dim = stats.dim();
        long size = HEADER + (float32 ? 4L : 8L) * dim * dim + 8L * dim + 4;
        if (size > Integer.MAX_VALUE) {
            throw new EvocompressException("A Hessian of " + dim + " features (" + size + " bytes) is too large for one file");
        }
        ByteBuffer out = ByteBuffer.allocate((int) size).order(ByteOrder.LITTLE_ENDIAN);
        out.put(MAGIC).put((byte) (float32 ? VERSION_FLOAT32 : VERSION)).putInt(dim).putLong(stats.hessian().sequences());
        for (double v : stats.hessian().values()) {
            if (float32) {
                out.putFloat((float) v);
            } else {
                out.putDouble(v);
            }
        }
        for (double v : stats.sumSquares()) {
            out.putDouble(v);
        }
        CRC32 crc = new CRC32();
        crc.update(out.array(), 0, out.position());
        out.putInt((int) crc.getValue());
        return out.array();
    }

    /** Decodes a file's bytes; {@code where} (the file) is named in every error. */
    public static PartialStatistics decode(byte[] bytes, String where) {
        if (bytes.length < HEADER + 4) {
            throw new EvocompressException(where + " is truncated: " + bytes.length + " bytes is shorter than a Hessian header. "
                + "Delete it and rerun build-db.");
        }
        ByteBuffer in = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        for (byte m : MAGIC) {
            if (in.get() != m) {
                throw new EvocompressException(where + " is not a Hessian file (bad magic).");
            }
        }
        CRC32 crc = new CRC32();
        crc.update(bytes, 0, bytes.length - 4);
        if (in.getInt(bytes.length - 4) != (int) crc.getValue()) {
            throw new EvocompressException(where + " is corrupt or truncated (checksum mismatch): delete it and rerun build-db.");
        }
        int version = in.get();
        if (version != VERSION && version != VERSION_FLOAT32) {
            throw new EvocompressException(where + " has Hessian format version " + version + "; this build reads "
                + VERSION + " and " + VERSION_FLOAT32 + ".");
        }
        boolean float32 = version == VERSION_FLOAT32;
        int dim = in.getInt();
        long sequences = in.getLong();
        if (dim < 1 || bytes.length != HEADER + (float32 ? 4L : 8L) * dim * dim + 8L * dim + 4) {
            throw new EvocompressException(where + " is inconsistent: " + bytes.length + " bytes for a Hessian of " + dim + " features.");
        }
        double[] h = new double[dim * dim];
        for (int i = 0; i < h.length; i++) {
            h[i] = float32 ? in.getFloat() : in.getDouble();
        }
        double[] sq = new double[dim];
        for (int j = 0; j < dim; j++) {
            sq[j] = in.getDouble();
        }
        return new PartialStatistics(new Hessian(dim, sequences, h), sq);
    }
}
