package io.evocompress.calibration;

import java.util.List;

/**
 * The calibration statistics of one input over one shard of the calibration sequences, in a form
 * that shards can be combined from: H = (2/n) sum X^T X over the shard's n sequences, and the raw
 * per-feature sums of squares sum_t x_tj^2 (whose square roots are Wanda's input norms).
 *
 * <p>Shards combine by weighting each H with its sequence count, H = sum_i (n_i / N) H_i, which is
 * the same H as one pass over all N sequences up to float64 round-off. Floating-point addition is
 * not associative, so {@link #combine} adds the parts strictly in the order given: callers pass
 * them in shard-index order, which makes the result bit-identical wherever it is computed.
 *
 * @param hessian    H over the shard's sequences
 * @param sumSquares sum_t x_tj^2 over the shard's tokens, one per input feature
 */
public record PartialStatistics(Hessian hessian, double[] sumSquares) {
    public PartialStatistics {
        if (sumSquares.length != hessian.dim()) {
            throw new IllegalArgumentException("sumSquares must hold one sum per input feature (" + hessian.dim()
                + "), but held " + sumSquares.length);
        }
    }

    public int dim() {
        return hessian.dim();
    }

    /** Combines the parts in list order: H = sum (n_i / N) H_i, sums of squares added, N = sum n_i. */
    public static PartialStatistics combine(List<PartialStatistics> parts) {
        if (parts.isEmpty()) {
            throw new IllegalArgumentException("Nothing to combine: no partial statistics given");
        }
        int dim = parts.get(0).dim();
        long total = 0;
        for (PartialStatistics p : parts) {
            if (p.dim() != dim) {
                throw new IllegalArgumentException("Cannot combine statistics of " + dim + " and " + p.dim() + " features");
            }
            total += p.hessian().sequences();
        }
        // row by row (one row block of H at a time, never one array of dim^2): every entry is the sum over
        // the parts in list order, the same sums as one loop over the parts
        RowBlockMatrix h = new RowBlockMatrix(dim);
        double[] weights = new double[parts.size()];
        for (int p = 0; p < weights.length; p++) {
            weights[p] = (double) parts.get(p).hessian().sequences() / total;
        }
        for (int i = 0; i < dim; i++) {
            double[] out = h.blockOfRow(i);
            int o = h.offset(i);
            for (int p = 0; p < weights.length; p++) {
                RowBlockMatrix v = parts.get(p).hessian().rows();
                double[] in = v.blockOfRow(i);
                int at = v.offset(i);
                double weight = weights[p];
                for (int j = 0; j < dim; j++) {
                    out[o + j] += weight * in[at + j];
                }
            }
        }
        double[] sq = new double[dim];
        for (PartialStatistics p : parts) {
            for (int j = 0; j < dim; j++) {
                sq[j] += p.sumSquares()[j];
            }
        }
        return new PartialStatistics(new Hessian(dim, total, h), sq);
    }

    /** The statistics the compressors use: H and the input norms ||X_j||_2 = sqrt(sumSquares_j). */
    public InputStatistics statistics() {
        double[] norms = new double[sumSquares.length];
        for (int j = 0; j < norms.length; j++) {
            norms[j] = Math.sqrt(sumSquares[j]);
        }
        return new InputStatistics(hessian, norms);
    }
}
