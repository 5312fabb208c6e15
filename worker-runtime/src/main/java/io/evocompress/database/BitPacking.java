package io.evocompress.database;

/**
 * Packs unsigned integers of 1..8 bits densely, little-endian within a byte stream: value i occupies
 * bits [i*bits, (i+1)*bits) of the stream. A 3-bit layer of n weights takes ceil(3n / 8) bytes.
 */
public final class BitPacking {
    private BitPacking() {
    }

    public static byte[] pack(int[] values, int bits) {
        check(bits);
        byte[] out = new byte[(int) (((long) values.length * bits + 7) / 8)];
        int mask = (1 << bits) - 1;
        long bit = 0;
        for (int v : values) {
            if ((v & ~mask) != 0) {
                throw new IllegalArgumentException("value " + v + " does not fit in " + bits + " bits");
            }
            int byteIndex = (int) (bit >>> 3);
            int shift = (int) (bit & 7);
            int word = v << shift;                 // at most 8 + 7 = 15 bits
            out[byteIndex] |= (byte) word;
            if (shift + bits > 8) {
                out[byteIndex + 1] |= (byte) (word >>> 8);
            }
            bit += bits;
        }
        return out;
    }

    public static int[] unpack(byte[] packed, int bits, int count) {
        check(bits);
        if ((long) count * bits > (long) packed.length * 8) {
            throw new IllegalArgumentException(count + " values of " + bits + " bits need more than " + packed.length + " bytes");
        }
        int[] out = new int[count];
        int mask = (1 << bits) - 1;
        long bit = 0;
        for (int i = 0; i < count; i++) {
            int byteIndex = (int) (bit >>> 3);
            int shift = (int) (bit & 7);
            int word = packed[byteIndex] & 0xff;
            if (shift + bits > 8) {
                word |= (packed[byteIndex + 1] & 0xff) << 8;
            }
            out[i] = (word >>> shift) & mask;
            bit += bits;
        }
        return out;
    }

    private static void check(int bits) {
        if (bits < 1 || bits > 8) {
            throw new IllegalArgumentException("bits must be in [1, 8], but was " + bits);
        }
    }
}
