package io.evocompress.compress;

/**
 * Packs unsigned codes of {@code bits} bits (1..16) into a little-endian bit stream of ints: code i
 * occupies bits [i * bits, (i + 1) * bits), possibly spanning two ints.
 */
public final class BitPacking {
    private BitPacking() {
    }

    public static int[] pack(int[] codes, int bits) {
        checkBits(bits);
        int limit = 1 << bits;
        int[] words = new int[(int) (((long) codes.length * bits + 31) / 32)];
        for (int i = 0; i < codes.length; i++) {
            int code = codes[i];
            if (code < 0 || code >= limit) {
                throw new IllegalArgumentException("Code " + code + " at " + i + " does not fit in " + bits + " bits");
            }
            long bit = (long) i * bits;
            int word = (int) (bit >>> 5);
            int shift = (int) (bit & 31);
            words[word] |= code << shift;
            if (shift + bits > 32) {
                words[word + 1] |= code >>> (32 - shift);
            }
        }
        return words;
    }

    public static int get(int[] words, int bits, long index) {
        long bit = index * bits;
        int word = (int) (bit >>> 5);
        int shift = (int) (bit & 31);
        long value = (words[word] & 0xFFFFFFFFL) >>> shift;
        if (shift + bits > 32) {
            value |= (words[word + 1] & 0xFFFFFFFFL) << (32 - shift);
        }
        return (int) (value & ((1L << bits) - 1));
    }

    private static void checkBits(int bits) {
        if (bits < 1 || bits > 16) {
            throw new IllegalArgumentException("Packed codes must have 1 to 16 bits, but had " + bits);
        }
    }

    /** The stream's first ceil(count * bits / 8) bytes, little-endian (the on-disk form). */
    public static byte[] toBytes(int[] words, int bits, long count) {
        int n = (int) ((count * bits + 7) / 8);
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(words.length * 4).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.asIntBuffer().put(words);
        return java.util.Arrays.copyOf(b.array(), n);
    }

    /** Inverse of {@link #toBytes}: the words of a little-endian byte stream. */
    public static int[] fromBytes(byte[] bytes) {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(java.util.Arrays.copyOf(bytes, (bytes.length + 3) / 4 * 4))
            .order(java.nio.ByteOrder.LITTLE_ENDIAN);
        int[] words = new int[b.capacity() / 4];
        b.asIntBuffer().get(words);
        return words;
    }

    /** Packs {@code codes} straight to the on-disk byte form. */
    public static byte[] packBytes(int[] codes, int bits) {
        return toBytes(pack(codes, bits), bits, codes.length);
    }

    /** Unpacks {@code count} codes from the on-disk byte form. */
    public static int[] unpackBytes(byte[] bytes, int bits, int count) {
        if ((long) count * bits > (long) bytes.length * 8) {
            throw new IllegalArgumentException(count + " codes of " + bits + " bits need more than " + bytes.length + " bytes");
        }
        int[] words = fromBytes(bytes);
        int[] out = new int[count];
        for (int i = 0; i < count; i++) {
            out[i] = get(words, bits, i);
        }
        return out;
    }
}
