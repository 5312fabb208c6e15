package io.evocompress.schedule;

/**
 * One linear layer's place in a schedule.
 *
 * @param unit       the layer's name, as in its {@link LayerError}
 * @param parameters its number of weights
 * @param block      its block index
 * @param error      its error estimate E_l
 * @param level      the cluster level of its scheduling group (0 = lowest error)
 * @param sparsity   the continuous scheduled sparsity, after the shift and clamping
 * @param zeros      the integer number of weights to prune: zeros / parameters is within one weight
 *                   of {@code sparsity}, and the zeros of all units add up to round(target * total)
 */
public record UnitSparsity(String unit, long parameters, int block, double error, int level, double sparsity,
                           long zeros) {
    /** zeros / parameters, the sparsity the layer is actually pruned to. */
    public double exactSparsity() {
        return (double) zeros / parameters;
    }
}
