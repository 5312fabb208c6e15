package io.evocompress.model;

/**
 * ALiBi's per-head slopes (BLOOM): for the largest power of two n <= heads, the geometric sequence
 * 2^(-8/n), 2^(-16/n), ..., and for the heads beyond it the odd powers of 2^(-4/n), as Hugging
 * Face's {@code build_alibi_tensor}. Head h adds slope_h * (key position) to its attention scores
 * (under the softmax the same as slope_h * (key - query)).
 */
public final class Alibi {
    private Alibi() {
    }

    public static double[] slopes(int heads) {
        int pow2 = Integer.highestOneBit(heads);
        double base = Math.pow(2, -8.0 / pow2);
        double[] out = new double[heads];
        for (int i = 0; i < pow2; i++) {
            out[i] = Math.pow(base, i + 1);
        }
        if (pow2 != heads) {
            double extraBase = Math.pow(2, -4.0 / pow2);
            for (int i = 0; i < heads - pow2; i++) {
                out[pow2 + i] = Math.pow(extraBase, 2 * i + 1);
            }
        }
        return out;
    }
}
