package io.evocompress.structured;

import io.evocompress.EvocompressException;
import io.evocompress.compress.StructuredSnapshot;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32;

/**
 * The file form of a {@link StructuredSnapshot}: magic "EVST", version 1, rows, columns, width, the
 * number of removed structures and their indices in removal order (int32), the compact weight of the
 * kept columns in float32 (kept at full precision so that stitched and exported models are exactly
 * the snapshot), then the CRC32 of everything before it. Little-endian.
 */
public final class StructuredCodec {
    private static final int MAGIC = 0x54535645; // "EVST" little-endian
    private static final int VERSION = 1;

    private StructuredCodec() {
    }

    public static byte[] encode(StructuredSnapshot s) {
        int size = 4 * 6 + 4 * s.removed().length + 4 * s.weight().length + 8 + 8;
        ByteBuffer b = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(MAGIC).putInt(VERSION).putInt(s.rows()).putInt(s.columns()).putInt(s.width()).putInt(s.removed().length);
        for (int r : s.removed()) {
            b.putInt(r);
        }
        b.putDouble(s.errorEstimate());
        for (float w : s.weight()) {
            b.putFloat(w);
        }
        CRC32 crc = new CRC32();
        crc.update(b.array(), 0, b.position());
        b.putLong(crc.getValue());
        return b.array();
    }

    public static StructuredSnapshot decode(byte[] bytes, String where) {
        try {
            ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
            if (b.getInt() != MAGIC || b.getInt() != VERSION) {
                throw new EvocompressException(where + " is not a structured snapshot file (bad magic or version)");
            }
            int rows = b.getInt();
            int columns = b.getInt();
            int width = b.getInt();
            int removedCount = b.getInt();
            int[] removed = new int[removedCount];
            for (int i = 0; i < removedCount; i++) {
                removed[i] = b.getInt();
            }
            double error = b.getDouble();
            float[] w = new float[rows * (columns - removedCount * width)];
            for (int i = 0; i < w.length; i++) {
                w[i] = b.getFloat();
            }
            int end = b.position();
            CRC32 crc = new CRC32();
            crc.update(bytes, 0, end);
            if (b.getLong() != crc.getValue() || b.hasRemaining()) {
                throw new EvocompressException(where + " is corrupt: CRC32 mismatch or trailing bytes; rebuild the database");
            }
            return new StructuredSnapshot(rows, columns, width, removed, w, error);
        } catch (java.nio.BufferUnderflowException | IllegalArgumentException | NegativeArraySizeException e) {
            throw new EvocompressException(where + " is truncated or corrupt (" + e.getMessage() + "); rebuild the database", e);
        }
    }
}
