package io.evocompress.database;

/**
 * One compressed variant of one linear layer (W [rows = out, cols = in]), in the form the database
 * stores it: sparse (zeros not stored) or quantized (integers + per-group scales and zeros, with an
 * optional sparsity mask for joint sparsity + quantization). {@link #dense()} gives the weights a
 * forward pass uses.
 */
public sealed interface LayerVariant permits LayerVariant.Sparse, LayerVariant.Quantized {

    int rows();

    int cols();

    /** Row-major [rows, cols] float32 weights. */
    float[] dense();

    /** Sparse weights: the dense matrix with its zeros; only non-zeros and a bitmask are stored. */
    record Sparse(int rows, int cols, float[] weights) implements LayerVariant {
        public Sparse {
            if ((long) rows * cols != weights.length) {
                throw new IllegalArgumentException("Sparse variant " + rows + "x" + cols + " given " + weights.length + " weights");
            }
        }

        @Override
        public float[] dense() {
            return weights;
        }

        public long zeros() {
            long z = 0;
            for (float w : weights) {
                if (w == 0f) {
                    z++;
                }
            }
            return z;
        }
    }

    /**
     * Quantized weights: w = scale[r, g] * (q[r, c] - zero[r, g]) with g = c / groupSize, q and zero
     * unsigned integers of {@code bits} bits; where {@code mask} is non-null, masked-out weights are 0.
     *
     * @param groupSize columns per group (cols for per-channel quantization)
     * @param mask      true where the weight is kept, or null when none is pruned
     */
    record Quantized(int rows, int cols, int bits, int groupSize, int[] q, float[] scales, int[] zeros, boolean[] mask)
        implements LayerVariant {

        public Quantized {
            if (bits < 1 || bits > 8) {
                throw new IllegalArgumentException("bits must be in [1, 8], but was " + bits);
            }
            if (groupSize < 1 || groupSize > cols) {
                throw new IllegalArgumentException("group size must be in [1, " + cols + "], but was " + groupSize);
            }
            int groups = groups(cols, groupSize);
            if (q.length != (long) rows * cols || scales.length != (long) rows * groups || zeros.length != (long) rows * groups
                || (mask != null && mask.length != q.length)) {
                throw new IllegalArgumentException("Quantized variant arrays do not match " + rows + "x" + cols
                    + " with " + groups + " groups per row");
            }
        }

        public static int groups(int cols, int groupSize) {
            return (cols + groupSize - 1) / groupSize;
        }

        @Override
        public float[] dense() {
            int groups = groups(cols, groupSize);
            float[] out = new float[q.length];
            for (int r = 0; r < rows; r++) {
                for (int c = 0; c < cols; c++) {
                    int i = r * cols + c;
                    if (mask != null && !mask[i]) {
                        continue;
                    }
                    int g = r * groups + c / groupSize;
                    out[i] = scales[g] * (q[i] - zeros[g]);
                }
            }
            return out;
        }
    }
}
