package io.evocompress.schedule;

import io.evocompress.EvocompressException;

/**
 * One unit's pruning-error estimate at the probe sparsity (ALGORITHMS.md section 4, step 2): the OBS
 * error SparseGPT accumulates, sum over pruned entries of w^2 / [H^-1]_ii / 2, i.e. the
 * {@code errorEstimate} of SparseGPT's compressed layer under the dense-input assumption.
 *
 * @param unit       the unit's name, e.g. the checkpoint path {@code model.layers.3.mlp.down_proj}
 * @param parameters the unit's number of weights (numel), at least 1
 * @param block      the index of the decoder block the unit belongs to, at least 0
 * @param error      E_l, finite and not negative (zero is handled by the clustering's floor)
 */
public record LayerError(String unit, long parameters, int block, double error) {
    public LayerError {
        if (unit == null || unit.isBlank()) {
            throw new EvocompressException("A layer error needs a unit name, but the name was empty");
        }
        if (parameters < 1) {
            throw new EvocompressException("Unit " + unit + " must have at least 1 parameter, but had " + parameters);
        }
        if (block < 0) {
            throw new EvocompressException("Unit " + unit + " has block index " + block + ": it must be >= 0");
        }
        if (!Double.isFinite(error) || error < 0) {
            throw new EvocompressException("Unit " + unit + " has error estimate " + error
                + ": it must be finite and >= 0 (recompute the layer's SparseGPT error at the probe sparsity)");
        }
    }
}
