package io.evocompress.compress;

import ai.djl.Device;
import io.evocompress.calibration.Hessian;
import io.evocompress.calibration.RowBlockMatrix;

/**
 * One layer input's Hessian made ready for the OBS loop once, so that every compression level of a
 * layer (a database builds 17 sparsity levels or 5 bit widths per layer) shares one factorisation:
 * dead inputs and dampening applied (ALGORITHMS.md section 1), and U, the upper Cholesky factor of
 * H^-1, computed on first use and kept. GPTQ's act-order factor (of the permuted H) is kept likewise.
 * The result of compressing with a prepared Hessian is exactly that of passing the raw Hessian.
 *
 * <p>Thread-safe: the factors are computed under the object's lock.
 */
public final class PreparedHessian {
    private final Hessian hessian;
    private final double dampening;
    private final RowBlockMatrix damped;
    private final int leaf;
    private InverseFactor upper;
    private int[] actOrder;
    private InverseFactor actOrderUpper;

    private PreparedHessian(Hessian hessian, double dampening, int leaf) {
        if (!(dampening >= 0)) {
            throw new IllegalArgumentException("dampening must be >= 0, but was " + dampening);
        }
        this.hessian = hessian;
        this.dampening = dampening;
        this.leaf = leaf;
        this.damped = DampedHessian.damped(hessian, dampening);
    }

    /** @param dampening lambda / mean(diag H) (0.01) */
    public static PreparedHessian of(Hessian hessian, double dampening) {
        return new PreparedHessian(hessian, dampening, InverseFactor.LEAF);
    }

    /**
     * As {@link #of} with the factor's Java blocks at most {@code leaf} columns ({@link InverseFactor});
     * {@code Integer.MAX_VALUE}: the whole factor in Java double, the float64 reference.
     */
    static PreparedHessian of(Hessian hessian, double dampening, int leaf) {
        return new PreparedHessian(hessian, dampening, leaf);
    }

    public Hessian hessian() {
        return hessian;
    }

    public int dim() {
        return hessian.dim();
    }

    public double dampening() {
        return dampening;
    }

    /** U, upper, with H_damped^-1 = U^T U, in natural column order (computed once, on {@code device}). */
    synchronized InverseFactor upperFactor(Device device) {
        if (upper == null) {
            upper = InverseFactor.of(damped, device, leaf);
        }
        return upper;
    }

    /** GPTQ's act-order: columns by descending damped diag H. */
    synchronized int[] actOrder() {
        if (actOrder == null) {
            actOrder = DampedHessian.actOrder(damped);
        }
        return actOrder;
    }

    /** U of the act-order-permuted damped H (computed once, on {@code device}). */
    synchronized InverseFactor actOrderUpperFactor(Device device) {
        if (actOrderUpper == null) {
            actOrderUpper = InverseFactor.of(DampedHessian.permute(damped, actOrder()), device, leaf);
        }
        return actOrderUpper;
    }

    /** Zeroes the weight columns of dead inputs (rows, in), in place. */
    void zeroDeadColumns(float[] weight, int rows) {
        DampedHessian.zeroDeadColumns(hessian, weight, rows);
    }

    void checkDampening(double requested, String compressor) {
        if (Double.compare(requested, dampening) != 0) {
            throw new IllegalArgumentException(compressor + " options ask for dampening " + requested
                + " but the Hessian was prepared with " + dampening);
        }
    }
}
