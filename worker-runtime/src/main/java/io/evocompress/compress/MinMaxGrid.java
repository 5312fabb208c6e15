package io.evocompress.compress;

/**
 * The min-max uniform grid of GPTQ's reference quantizer, for one row of one group: asymmetric
 * xmin = min(w, 0), xmax = max(w, 0), scale = (xmax - xmin) / maxq, zero = round(-xmin / scale);
 * symmetric: range [-max|w|, max|w|], zero = (maxq + 1) / 2. An all-zero row gets the range [-1, 1].
 * The range always contains 0, so 0 (a pruned weight) quantizes to exactly 0.
 */
final class MinMaxGrid {
    private MinMaxGrid() {
    }

    /** Fits scale and zero to x[from, to) and stores them at {@code scales[at]}, {@code zeros[at]}. */
    static void fit(double[] x, int from, int to, QuantizationSpec spec, float[] scales, int[] zeros, int at) {
        double xmin = 0;
        double xmax = 0;
        for (int i = from; i < to; i++) {
            xmin = Math.min(xmin, x[i]);
            xmax = Math.max(xmax, x[i]);
        }
        if (spec.symmetric()) {
            xmax = Math.max(-xmin, xmax);
            xmin = -xmax;
        }
        if (xmin == 0 && xmax == 0) {
            xmin = -1;
            xmax = 1;
        }
        int maxq = spec.maxCode();
        float scale = (float) ((xmax - xmin) / maxq);
        scales[at] = scale;
        zeros[at] = spec.symmetric() ? (maxq + 1) / 2 : (int) Math.min(maxq, Math.max(0, Math.rint(-xmin / scale)));
    }

    /** The code of x: clamp(round(x / scale) + zero, 0, maxq), rounding half to even as torch.round. */
    static int code(double x, float scale, int zero, int maxq) {
        double q = Math.rint(x / scale) + zero;
        return (int) Math.min(maxq, Math.max(0, q));
    }

    /** scale * (code - zero), in float32 as stored. */
    static float dequantize(int code, float scale, int zero) {
        return scale * (code - zero);
    }
}
