package io.evocompress.calibration;

/**
 * The Hessian of a linear layer's reconstruction error, H = (2/n) sum over calibration sequences of
 * X^T X (ALGORITHMS.md section 1), as accumulated: undamped, dead columns untouched. Held in row
 * blocks ({@link RowBlockMatrix}), never as one Java array, so any input width whose n^2 float64
 * entries fit the memory can be held.
 *
 * @param dim       number of input features (H is dim x dim)
 * @param sequences n, the number of calibration sequences it was accumulated over
 * @param rows      H, float64, in row blocks (owned by this record: do not modify)
 */
public record Hessian(int dim, long sequences, RowBlockMatrix rows) {
    public Hessian {
        if (dim < 1) {
            throw new IllegalArgumentException("Hessian dim must be at least 1, but was " + dim);
        }
        if (rows.dim() != dim) {
            throw new IllegalArgumentException("Hessian values must hold dim * dim = " + (long) dim * dim
                + " entries, but held " + (long) rows.dim() * rows.dim());
        }
        if (sequences < 1) {
            throw new IllegalArgumentException("Hessian needs at least one calibration sequence, but was accumulated over "
                + sequences);
        }
    }

    /** H from one row-major array of dim * dim entries (copied into row blocks). */
    public Hessian(int dim, long sequences, double[] values) {
        this(dim, sequences, checked(dim, values));
    }

    private static RowBlockMatrix checked(int dim, double[] values) {
        if (dim < 1) {
            throw new IllegalArgumentException("Hessian dim must be at least 1, but was " + dim);
        }
        if (values.length != (long) dim * dim) {
            throw new IllegalArgumentException("Hessian values must hold dim * dim = " + (long) dim * dim
                + " entries, but held " + values.length);
        }
        return RowBlockMatrix.of(values, dim);
    }

    /**
     * H as one fresh row-major array, for Hessians whose dim^2 entries fit one Java array (tests, the
     * float64 reference paths); the compressors read {@link #rows()}.
     */
    public double[] values() {
        return rows.toArray();
    }

    public double get(int i, int j) {
        return rows.get(i, j);
    }

    /** diag(H), a fresh array. */
    public double[] diagonal() {
        return rows.diagonal();
    }
}
