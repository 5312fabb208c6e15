package io.evocompress.compress;

/**
 * A min-max uniform quantization grid: {@code bits} per weight, one scale and zero point per output
 * row and group of {@code groupSize} consecutive input columns (0: one per output row, "per channel").
 *
 * @param bits      2..8
 * @param groupSize input columns per group; 0 for per-channel
 * @param symmetric zero point fixed at 2^(bits-1) and range [-max|w|, max|w|]; otherwise asymmetric
 *                  min-max (the default)
 */
public record QuantizationSpec(int bits, int groupSize, boolean symmetric) {
    public QuantizationSpec {
        if (bits < 2 || bits > 8) {
            throw new IllegalArgumentException("Quantization bits must be in [2, 8], but was " + bits);
        }
        if (groupSize < 0) {
            throw new IllegalArgumentException("Quantization groupSize must be 0 (per channel) or positive, but was " + groupSize);
        }
    }

    /** Asymmetric, one grid per output row. */
    public static QuantizationSpec perChannel(int bits) {
        return new QuantizationSpec(bits, 0, false);
    }

    /** Asymmetric, one grid per output row and group of {@code groupSize} input columns. */
    public static QuantizationSpec grouped(int bits, int groupSize) {
        if (groupSize < 1) {
            throw new IllegalArgumentException("Quantization groupSize must be positive, but was " + groupSize);
        }
        return new QuantizationSpec(bits, groupSize, false);
    }

    public QuantizationSpec withSymmetric(boolean symmetric) {
        return new QuantizationSpec(bits, groupSize, symmetric);
    }

    public boolean perChannelGrid() {
        return groupSize == 0;
    }

    /** The largest code, 2^bits - 1. */
    public int maxCode() {
        return (1 << bits) - 1;
    }

    /** Groups per row for a layer of {@code columns} input features. */
    public int groups(int columns) {
        return perChannelGrid() ? 1 : (columns + groupSize - 1) / groupSize;
    }

    @Override
    public String toString() {
        return bits + "-bit " + (perChannelGrid() ? "per-channel" : "g" + groupSize) + (symmetric ? " sym" : "");
    }
}
