package io.evocompress.compress;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

/**
 * A compressed linear weight [rows = out, columns = in] ready for evaluation, as float32 (dequantized
 * where quantized), with what the compressor knows about it.
 *
 * @param weight        row-major (rows, columns), float32
 * @param errorEstimate the OBS estimate sum(loss) / 2 of SparseGPT / GPTQ (ALGORITHMS.md section 2);
 *                      NaN for the baselines, which do not estimate it
 * @param quantized     the stored form when quantized, else null
 */
public record CompressedLayer(int rows, int columns, float[] weight, double errorEstimate, QuantizedWeight quantized) {
    public CompressedLayer {
        if (weight.length != (long) rows * columns) {
            throw new IllegalArgumentException("weight must hold rows * columns = " + (long) rows * columns
                + " values, but held " + weight.length);
        }
    }

    /** The weight as an NDArray (rows, columns) in {@code manager}, e.g. for DecoderBlock.replaceLinear. */
    public NDArray toNDArray(NDManager manager) {
        return io.evocompress.device.EngineTransfer.create(manager, weight, rows, columns);   // row slices over 256 MiB
    }

    /** Fraction of weights that are exactly zero. */
    public double sparsity() {
        long zeros = 0;
        for (float w : weight) {
            if (w == 0f) {
                zeros++;
            }
        }
        return (double) zeros / weight.length;
    }
}
