package io.evocompress.compress;

import ai.djl.ndarray.NDArray;
import io.evocompress.calibration.Hessian;

/**
 * GPTQ (ALGORITHMS.md section 2): quantizes a linear layer column by column onto min-max grids,
 * compensating each column's rounding error on the columns not yet quantized through the inverse
 * Hessian. The result keeps the stored form (packed codes, scales, zeros).
 */
public final class Gptq {
    private Gptq() {
    }

    /**
     * @param quantization bits, group size (0: per channel), symmetric or not
     * @param actOrder     process columns by descending diag H (groups then follow that order)
     * @param blockSize    columns per block of lazy updates (128); a multiple of the group size
     * @param dampening    lambda / mean(diag H) (0.01)
     */
    public record Options(QuantizationSpec quantization, boolean actOrder, int blockSize, double dampening) {
        public Options {
            if (quantization == null) {
                throw new IllegalArgumentException("GPTQ needs a quantization spec");
            }
            if (blockSize < 1) {
                throw new IllegalArgumentException("GPTQ blockSize must be positive, but was " + blockSize);
            }
            if (!quantization.perChannelGrid() && blockSize % quantization.groupSize() != 0) {
                throw new IllegalArgumentException("GPTQ blockSize must be a multiple of the groupSize "
                    + quantization.groupSize() + ", but was " + blockSize + " (use a group size that divides it)");
            }
            if (!(dampening >= 0)) {
                throw new IllegalArgumentException("GPTQ dampening must be >= 0, but was " + dampening);
            }
        }

        /** No act-order, B = 128, dampening 0.01. */
        public static Options of(QuantizationSpec quantization) {
            return new Options(quantization, false, 128, 0.01);
        }

        public Options withActOrder(boolean actOrder) {
            return new Options(quantization, actOrder, blockSize, dampening);
        }
    }

    public static CompressedLayer quantize(NDArray weight, Hessian hessian, QuantizationSpec quantization) {
        return quantize(weight, hessian, Options.of(quantization));
    }

    /** Quantizes {@code weight} [out, in] given its input's Hessian [in, in]. */
    public static CompressedLayer quantize(NDArray weight, Hessian hessian, Options options) {
        return quantize(weight, PreparedHessian.of(hessian, options.dampening()), options);
    }

    /**
     * As {@link #quantize(NDArray, Hessian, Options)} with a Hessian prepared once for several calls
     * (its factorisation is shared); its dampening must equal {@code options.dampening()}.
     */
    public static CompressedLayer quantize(NDArray weight, PreparedHessian hessian, Options options) {
        DenseWeight w = DenseWeight.of(weight);
        w.checkInputs(hessian.hessian());
        hessian.checkDampening(options.dampening(), "GPTQ");
        int rows = w.rows();
        int cols = w.columns();
        // dead inputs and dampening
        float[] values = w.values();
        hessian.zeroDeadColumns(values, rows);
        // act-order: process columns by descending diag H; U = upper Cholesky factor of H^-1
        int[] order = options.actOrder() ? hessian.actOrder() : null;
        InverseFactor u;
        if (order != null) {
            values = DampedHessian.permuteColumns(values, rows, cols, order, false);
            u = hessian.actOrderUpperFactor(w.device());
        } else {
            u = hessian.upperFactor(w.device());
        }
        // the sweep with q = quantize(w)
        ColumnQuantizer quantizer = new ColumnQuantizer(options.quantization(), rows, cols);
        ObsSweep.Result result = ObsSweep.run(w.device(), values, rows, cols, u, options.blockSize(), null, quantizer);
        float[] out = order == null ? result.weight() : DampedHessian.permuteColumns(result.weight(), rows, cols, order, true);
        return new CompressedLayer(rows, cols, out, result.lossSum() / 2, quantizer.build(order));
    }
}
