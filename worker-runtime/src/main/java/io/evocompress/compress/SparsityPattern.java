package io.evocompress.compress;

/**
 * Which weights a pruner zeroes: an unstructured fraction, or N:M (N zeros in every M consecutive
 * input columns of a row, e.g. 2:4).
 *
 * @param fraction the fraction of zeros; n / m for N:M
 * @param n        zeros per group for N:M; 0 for unstructured
 * @param m        group width for N:M; 0 for unstructured
 * @param exactTotal unstructured only: each block of columns gets round(fraction * rows * end) minus
 *                 round(fraction * rows * start) zeros (cumulative rounding), so the whole layer gets exactly
 *                 round(fraction * rows * cols); false: round(fraction * rows * width) per block (the default,
 *                 the reference's rule)
 */
public record SparsityPattern(double fraction, int n, int m, boolean exactTotal) {
    public SparsityPattern(double fraction, int n, int m) {
        this(fraction, n, m, false);
    }

    public SparsityPattern {
        if (exactTotal && m != 0) {
            throw new IllegalArgumentException("An exact zero total applies to unstructured sparsity only");
        }
        if (m == 0 && n == 0) {
            if (!(fraction >= 0 && fraction < 1)) {
                throw new IllegalArgumentException("Sparsity must be in [0, 1), but was " + fraction);
            }
        } else {
            if (n < 1 || m <= n) {
                throw new IllegalArgumentException("N:M sparsity needs 0 < N < M, but was " + n + ":" + m);
            }
            if (fraction != (double) n / m) {
                throw new IllegalArgumentException("N:M sparsity " + n + ":" + m + " has fraction " + (double) n / m
                    + ", but was given " + fraction);
            }
        }
    }

    public static SparsityPattern unstructured(double fraction) {
        return new SparsityPattern(fraction, 0, 0);
    }

    /**
     * Exactly {@code zeros} of a layer's {@code numel} weights, spread over the column blocks by
     * cumulative rounding (the layer-wise scheduler's integer zero counts).
     */
    public static SparsityPattern exactZeros(long zeros, long numel) {
        if (zeros < 0 || zeros >= numel) {
            throw new IllegalArgumentException("Zeros must be in [0, " + numel + "), but was " + zeros);
        }
        return new SparsityPattern((double) zeros / numel, 0, 0, true);
    }

    /** Zeros of the column range [from, to) of a layer with {@code rows} rows, under cumulative rounding. */
    public int zerosInColumns(int rows, int from, int to) {
        return (int) (Math.round(fraction * rows * (double) to) - Math.round(fraction * rows * (double) from));
    }

    /** N zeros in every M consecutive columns of a row (2:4, 4:8). */
    public static SparsityPattern nOfM(int n, int m) {
        return new SparsityPattern((double) n / m, n, m);
    }

    public boolean isNOfM() {
        return m > 0;
    }

    /** How many of {@code count} weights an unstructured selection zeroes: round(fraction * count). */
    public int zerosIn(int count) {
        return (int) Math.round(fraction * count);
    }

    /** Fails unless a layer of {@code columns} input features splits into whole groups of M. */
    void checkColumns(int columns) {
        if (isNOfM() && columns % m != 0) {
            throw new IllegalArgumentException(n + ":" + m + " sparsity needs input features divisible by " + m
                + ", but the layer has " + columns);
        }
    }

    @Override
    public String toString() {
        return isNOfM() ? n + ":" + m : Math.round(fraction * 1000) / 10.0 + "%";
    }
}
