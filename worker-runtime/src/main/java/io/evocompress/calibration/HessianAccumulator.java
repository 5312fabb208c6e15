package io.evocompress.calibration;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * Accumulates the Hessian H = (2/n) sum X^T X of one linear-layer input over calibration batches, in
 * the running form of ALGORITHMS.md section 1, with n counted in sequences:
 * <pre>
 *   H *= n / (n + b);  n += b;  x *= sqrt(2 / n);  H += x^T x
 * </pre>
 * and, alongside, the per-feature sums of squares sum_t x_tj^2 whose square roots are Wanda's input
 * norms ||X_j||_2. Both are kept in float64 on the device of the manager it was made with, so that
 * tens of thousands of calibration tokens add up without fp32 round-off.
 */
public final class HessianAccumulator implements AutoCloseable {
    private final int dim;
    private final NDManager manager;
    private final NDArray hessian;     // (in, in) float64
    private final NDArray sumSquares;  // (in) float64
    private long sequences;

    /** An empty accumulator for inputs of {@code dim} features, its arrays in a sub-manager of {@code parent}. */
    public HessianAccumulator(NDManager parent, int dim) {
        if (dim < 1) {
            throw new IllegalArgumentException("Input dim must be at least 1, but was " + dim);
        }
        this.dim = dim;
        this.manager = parent.newSubManager();
        this.hessian = manager.zeros(new Shape(dim, dim), DataType.FLOAT64);
        this.sumSquares = manager.zeros(new Shape(dim), DataType.FLOAT64);
    }

    public int dim() {
        return dim;
    }

    /** Sequences accumulated so far (n). */
    public long sequences() {
        return sequences;
    }

    /** Adds a batch of inputs (B, T, in): B sequences of T tokens. */
    public void add(NDArray x) {
        if (x.getShape().dimension() != 3) {
            throw new IllegalArgumentException("Expected inputs (B, T, in), but got shape " + x.getShape()
                + "; use add(x, sequences) for flattened tokens");
        }
        add(x, x.getShape().get(0));
    }

    /** Adds the tokens x (..., in) of {@code batchSequences} calibration sequences. */
    public void add(NDArray x, long batchSequences) {
        if (x.getShape().get(x.getShape().dimension() - 1) != dim) {
            throw new IllegalArgumentException("Expected inputs with " + dim + " features in the last axis, but got shape "
                + x.getShape());
        }
        if (batchSequences < 1) {
            throw new IllegalArgumentException("A batch must hold at least one sequence, but held " + batchSequences);
        }
        try (NDManager scope = manager.newSubManager()) {
            x.tempAttach(scope);
            // tokens (N, in) in float64 on the accumulator's device
            NDArray tokens = x.reshape(-1, dim).toDevice(hessian.getDevice(), false).toType(DataType.FLOAT64, false);
            // running form: H *= n / (n + b); n += b
            hessian.muli((double) sequences / (sequences + batchSequences));
            sequences += batchSequences;
            // x *= sqrt(2 / n); H += x^T x   ((in, N) @ (N, in) -> (in, in))
            NDArray scaled = tokens.mul(Math.sqrt(2.0 / sequences));
            hessian.addi(scaled.transpose().matMul(scaled));
            // sum_t x_tj^2   (N, in) -> (in)
            sumSquares.addi(tokens.square().sum(new int[] {0}));
        }
    }

    /** A snapshot of H (undamped), read off the device one row block at a time ({@link RowBlockMatrix#fromNDArray}). */
    public Hessian hessian() {
        if (sequences == 0) {
            throw new IllegalStateException("No calibration input was added: a Hessian needs at least one sequence");
        }
        return new Hessian(dim, sequences, RowBlockMatrix.fromNDArray(hessian));
    }

    /** ||X_j||_2 over every token added, per input feature. */
    public double[] columnNorms() {
        double[] norms = sumSquares.toDoubleArray();
        for (int j = 0; j < norms.length; j++) {
            norms[j] = Math.sqrt(norms[j]);
        }
        return norms;
    }

    public InputStatistics statistics() {
        return new InputStatistics(hessian(), columnNorms());
    }

    /**
     * What this accumulator holds as a partial sum that can be combined with other shards'
     * ({@link PartialStatistics#combine}): H (running form) with its sequence count, and the raw
     * per-feature sums of squares.
     */
    public PartialStatistics partial() {
        return new PartialStatistics(hessian(), sumSquares.toDoubleArray());
    }

    /**
     * Writes {@link #partial()} as a Hessian file ({@link HessianFile}, H in float64) to {@code out}, reading H
     * off the device one row block at a time: the same bytes as encoding the partial, without H on the Java
     * heap. Returns the bytes written.
     */
    public long writePartial(java.io.OutputStream out) throws java.io.IOException {
        if (sequences == 0) {
            throw new IllegalStateException("No calibration input was added: a Hessian needs at least one sequence");
        }
        return HessianFile.write(hessian, sequences, sumSquares.toDoubleArray(), false, out);
    }

    @Override
    public void close() {
        manager.close();
    }
}
