package io.evocompress.calibration;

/**
 * The Hessian of a linear layer's reconstruction error, H = (2/n) sum over calibration sequences of
 * X^T X (ALGORITHMS.md section 1), as accumulated: undamped, dead columns untouched.
 *
 * @param dim       number of input features (H is dim x dim)
 * @param sequences n, the number of calibration sequences it was accumulated over
 * @param values    H, row-major, dim * dim, float64 (owned by this record: do not modify)
 */
public record Hessian(int dim, long sequences, double[] values) {
    public Hessian {
        if (dim < 1) {
            throw new IllegalArgumentException("Hessian dim must be at least 1, but was " + dim);
        }
        if (values.length != (long) dim * dim) {
            throw new IllegalArgumentException("Hessian values must hold dim * dim = " + (long) dim * dim
                + " entries, but held " + values.length);
        }
        if (sequences < 1) {
            throw new IllegalArgumentException("Hessian needs at least one calibration sequence, but was accumulated over "
                + sequences);
        }
    }

    public double get(int i, int j) {
        return values[i * dim + j];
    }

    /** diag(H), a fresh array. */
    public double[] diagonal() {
        double[] d = new double[dim];
        for (int i = 0; i < dim; i++) {
            d[i] = values[i * dim + i];
        }
        return d;
    }
}
