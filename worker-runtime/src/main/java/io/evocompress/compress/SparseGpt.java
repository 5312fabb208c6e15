package io.evocompress.compress;

import ai.djl.ndarray.NDArray;
import io.evocompress.calibration.Hessian;

/**
 * SparseGPT (ALGORITHMS.md section 2): prunes a linear layer to unstructured or N:M sparsity with
 * OBS weight updates that compensate the pruned weights through the inverse Hessian, optionally
 * quantizing the kept weights in the same pass (joint sparsity + quantization).
 */
public final class SparseGpt {
    private SparseGpt() {
    }

    /**
     * @param pattern      sparsity to reach; masks are chosen per block of {@code blockSize} columns
     *                     (unstructured: exactly round(fraction * rows * width) per block)
     * @param quantization grid for the kept weights, or null for pruning only
     * @param blockSize    B, columns per block (128 in the paper)
     * @param dampening    lambda / mean(diag H) (0.01)
     */
    public record Options(SparsityPattern pattern, QuantizationSpec quantization, int blockSize, double dampening) {
        public Options {
            if (pattern == null) {
                throw new IllegalArgumentException("SparseGPT needs a sparsity pattern");
            }
            if (blockSize < 1) {
                throw new IllegalArgumentException("SparseGPT blockSize must be positive, but was " + blockSize);
            }
            if (pattern.isNOfM() && blockSize % pattern.m() != 0) {
                throw new IllegalArgumentException("SparseGPT blockSize must be a multiple of M = " + pattern.m()
                    + " for " + pattern + " sparsity, but was " + blockSize);
            }
            if (quantization != null && !quantization.perChannelGrid() && blockSize % quantization.groupSize() != 0) {
                throw new IllegalArgumentException("SparseGPT blockSize must be a multiple of the quantization groupSize "
                    + quantization.groupSize() + ", but was " + blockSize);
            }
            if (!(dampening >= 0)) {
                throw new IllegalArgumentException("SparseGPT dampening must be >= 0, but was " + dampening);
            }
        }

        /** Pruning only, B = 128, dampening 0.01. */
        public static Options of(SparsityPattern pattern) {
            return new Options(pattern, null, 128, 0.01);
        }

        public Options withQuantization(QuantizationSpec quantization) {
            return new Options(pattern, quantization, blockSize, dampening);
        }

        public Options withBlockSize(int blockSize) {
            return new Options(pattern, quantization, blockSize, dampening);
        }
    }

    /** Prunes {@code weight} [out, in] to {@code pattern} with default options. */
    public static CompressedLayer prune(NDArray weight, Hessian hessian, SparsityPattern pattern) {
        return compress(weight, hessian, Options.of(pattern));
    }

    /** Prunes (and, if asked, quantizes) {@code weight} [out, in] given its input's Hessian [in, in]. */
    public static CompressedLayer compress(NDArray weight, Hessian hessian, Options options) {
        return compress(weight, PreparedHessian.of(hessian, options.dampening()), options);
    }

    /**
     * As {@link #compress(NDArray, Hessian, Options)} with a Hessian prepared once for several calls
     * (its factorisation is shared); its dampening must equal {@code options.dampening()}.
     */
    public static CompressedLayer compress(NDArray weight, PreparedHessian hessian, Options options) {
        DenseWeight w = DenseWeight.of(weight);
        w.checkInputs(hessian.hessian());
        hessian.checkDampening(options.dampening(), "SparseGPT");
        options.pattern().checkColumns(w.columns());
        // 1. dead inputs, dampening; U = upper Cholesky factor of H^-1
        hessian.zeroDeadColumns(w.values(), w.rows());
        InverseFactor u = hessian.upperFactor(w.device());
        // 2-4. the OBS sweep: masks per block, column updates, lazy batch updates
        ColumnQuantizer quantizer = options.quantization() == null ? null
            : new ColumnQuantizer(options.quantization(), w.rows(), w.columns());
        ObsSweep.Result result = ObsSweep.run(w.device(), w.values(), w.rows(), w.columns(), u, options.blockSize(),
            options.pattern(), quantizer);
        // 5. layer error estimate sum(loss) / 2
        return new CompressedLayer(w.rows(), w.columns(), result.weight(), result.lossSum() / 2,
            quantizer == null ? null : quantizer.build(null));
    }
}
