package io.evocompress.calibration;

/**
 * What calibration knows about one input shared by some linear layers: its Hessian and, for Wanda,
 * the per-feature input norms ||X_j||_2 over every calibration token.
 *
 * @param hessian     H = (2/n) sum X^T X, [in, in]
 * @param columnNorms ||X_j||_2 for j in [0, in), over all calibration tokens (unscaled)
 */
public record InputStatistics(Hessian hessian, double[] columnNorms) {
    public InputStatistics {
        if (columnNorms.length != hessian.dim()) {
            throw new IllegalArgumentException("columnNorms must hold one norm per input feature (" + hessian.dim()
                + "), but held " + columnNorms.length);
        }
    }

    public int dim() {
        return hessian.dim();
    }
}
