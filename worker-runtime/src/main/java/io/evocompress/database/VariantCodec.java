package io.evocompress.database;

import io.evocompress.EvocompressException;
import io.evocompress.checkpoint.Float16;
import io.evocompress.compress.BitPacking;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32;

/**
 * The byte layout of one variant file. Compact: sparse variants store a bitmask and the non-zero
 * values (fp16 or fp32), quantized variants store packed integers, fp16 scales and packed zeros. Every
 * file ends with a CRC32 of everything before it, so a truncated or corrupted file is detected on read.
 *
 * <pre>
 * "EVOV" | version u8 | kind u8 (1 sparse, 2 quantized) | rows i32 | cols i32 | body | crc32 i32
 * sparse body:    value bytes u8 (2 = fp16, 4 = fp32) | non-zeros i64 | bitmask ceil(rows*cols/8) | values
 * quantized body: bits u8 | group size i32 | has mask u8 | [bitmask] | packed q | fp16 scales | packed zeros
 * </pre>
 * All numbers little-endian.
 */
public final class VariantCodec {
    private static final byte[] MAGIC = {'E', 'V', 'O', 'V'};
    private static final int VERSION = 1;
    private static final int SPARSE = 1;
    private static final int QUANTIZED = 2;

    private VariantCodec() {
    }

    /** @param valueBytes 2 to store sparse values as fp16 (the reference layout's precision), 4 for fp32 */
    public static byte[] encode(LayerVariant variant, int valueBytes) {
        if (valueBytes != 2 && valueBytes != 4) {
            throw new IllegalArgumentException("value bytes must be 2 (fp16) or 4 (fp32), but was " + valueBytes);
        }
        ByteBuffer body = variant instanceof LayerVariant.Sparse s ? sparseBody(s, valueBytes)
            : quantizedBody((LayerVariant.Quantized) variant);
        ByteBuffer out = ByteBuffer.allocate(4 + 2 + 8 + body.position() + 4).order(ByteOrder.LITTLE_ENDIAN);
        out.put(MAGIC).put((byte) VERSION).put((byte) (variant instanceof LayerVariant.Sparse ? SPARSE : QUANTIZED));
        out.putInt(variant.rows()).putInt(variant.cols());
        out.put(body.array(), 0, body.position());
        CRC32 crc = new CRC32();
        crc.update(out.array(), 0, out.position());
        out.putInt((int) crc.getValue());
        return out.array();
    }

    private static ByteBuffer sparseBody(LayerVariant.Sparse s, int valueBytes) {
        float[] w = s.weights();
        long nnz = w.length - s.zeros();
        ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(1 + 8 + (w.length + 7) / 8 + nnz * valueBytes))
            .order(ByteOrder.LITTLE_ENDIAN);
        b.put((byte) valueBytes).putLong(nnz);
        boolean[] keep = new boolean[w.length];
        for (int i = 0; i < w.length; i++) {
            keep[i] = w[i] != 0f;
        }
        b.put(bitmask(keep));
        for (float v : w) {
            if (v != 0f) {
                if (valueBytes == 2) {
                    b.putShort(Float16.floatToF16(v));
                } else {
                    b.putFloat(v);
                }
            }
        }
        return b;
    }

    private static ByteBuffer quantizedBody(LayerVariant.Quantized q) {
        byte[] mask = q.mask() == null ? new byte[0] : bitmask(q.mask());
        byte[] ints = BitPacking.packBytes(q.q(), q.bits());
        byte[] zeros = BitPacking.packBytes(q.zeros(), q.bits());
        ByteBuffer b = ByteBuffer.allocate(1 + 4 + 1 + mask.length + ints.length + 2 * q.scales().length + zeros.length)
            .order(ByteOrder.LITTLE_ENDIAN);
        b.put((byte) q.bits()).putInt(q.groupSize()).put((byte) (q.mask() == null ? 0 : 1));
        b.put(mask).put(ints);
        for (float s : q.scales()) {
            b.putShort(Float16.floatToF16(s));
        }
        b.put(zeros);
        return b;
    }

    /**
     * Decodes a variant file's bytes; {@code where} (the file) is named in every error. Scales are
     * stored in fp16, so a decoded quantized variant carries the fp16-rounded scales.
     */
    public static LayerVariant decode(byte[] bytes, String where) {
        if (bytes.length < 18) {
            throw new EvocompressException(where + " is truncated: " + bytes.length + " bytes is shorter than a variant header.");
        }
        ByteBuffer in = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        for (byte m : MAGIC) {
            if (in.get() != m) {
                throw new EvocompressException(where + " is not a variant file (bad magic): rebuild the database.");
            }
        }
        CRC32 crc = new CRC32();
        crc.update(bytes, 0, bytes.length - 4);
        int stored = ByteBuffer.wrap(bytes, bytes.length - 4, 4).order(ByteOrder.LITTLE_ENDIAN).getInt();
        if (stored != (int) crc.getValue()) {
            throw new EvocompressException(where + " is corrupt or truncated (checksum mismatch): rebuild this variant "
                + "(build-db resumes and rewrites files whose checksums fail).");
        }
        int version = in.get();
        if (version != VERSION) {
            throw new EvocompressException(where + " has format version " + version + "; this build reads version " + VERSION + ".");
        }
        int kind = in.get();
        int rows = in.getInt();
        int cols = in.getInt();
        try {
            LayerVariant v = switch (kind) {
                case SPARSE -> readSparse(in, rows, cols);
                case QUANTIZED -> readQuantized(in, rows, cols);
                default -> throw new EvocompressException(where + " has unknown variant kind " + kind + ".");
            };
            if (in.remaining() != 4) {
                throw new EvocompressException(where + " has " + (in.remaining() - 4) + " unexpected bytes after its data.");
            }
            return v;
        } catch (BufferUnderflowException | IllegalArgumentException e) {
            throw new EvocompressException(where + " is inconsistent (" + e + "): rebuild this variant.", e);
        }
    }

    private static LayerVariant.Sparse readSparse(ByteBuffer in, int rows, int cols) {
        int valueBytes = in.get();
        long nnz = in.getLong();
        int n = Math.multiplyExact(rows, cols);
        boolean[] keep = readBitmask(in, n);
        float[] w = new float[n];
        long seen = 0;
        for (int i = 0; i < n; i++) {
            if (keep[i]) {
                w[i] = valueBytes == 2 ? Float16.f16ToFloat(in.getShort()) : in.getFloat();
                seen++;
            }
        }
        if (seen != nnz) {
            throw new IllegalArgumentException("bitmask has " + seen + " non-zeros, header says " + nnz);
        }
        return new LayerVariant.Sparse(rows, cols, w);
    }

    private static LayerVariant.Quantized readQuantized(ByteBuffer in, int rows, int cols) {
        int bits = in.get();
        int groupSize = in.getInt();
        boolean hasMask = in.get() != 0;
        int n = Math.multiplyExact(rows, cols);
        boolean[] mask = hasMask ? readBitmask(in, n) : null;
        int[] q = BitPacking.unpackBytes(take(in, (int) (((long) n * bits + 7) / 8)), bits, n);
        int groups = rows * LayerVariant.Quantized.groups(cols, groupSize);
        float[] scales = new float[groups];
        for (int i = 0; i < groups; i++) {
            scales[i] = Float16.f16ToFloat(in.getShort());
        }
        int[] zeros = BitPacking.unpackBytes(take(in, (int) (((long) groups * bits + 7) / 8)), bits, groups);
        return new LayerVariant.Quantized(rows, cols, bits, groupSize, q, scales, zeros, mask);
    }

    private static byte[] bitmask(boolean[] keep) {
        byte[] out = new byte[(keep.length + 7) / 8];
        for (int i = 0; i < keep.length; i++) {
            if (keep[i]) {
                out[i >>> 3] |= (byte) (1 << (i & 7));
            }
        }
        return out;
    }

    private static boolean[] readBitmask(ByteBuffer in, int n) {
        byte[] bytes = take(in, (n + 7) / 8);
        boolean[] keep = new boolean[n];
        for (int i = 0; i < n; i++) {
            keep[i] = (bytes[i >>> 3] & (1 << (i & 7))) != 0;
        }
        return keep;
    }

    private static byte[] take(ByteBuffer in, int n) {
        byte[] out = new byte[n];
        in.get(out);
        return out;
    }

    /** Bytes of the reference layout: the dense matrix in fp16, zeros included. */
    public static long denseFp16Bytes(int rows, int cols) {
        return 2L * rows * cols;
    }
}
