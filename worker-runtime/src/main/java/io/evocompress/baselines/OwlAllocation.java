package io.evocompress.baselines;

import io.evocompress.EvocompressException;

import java.util.List;

/**
 * OWL's non-uniform layer sparsity (ALGORITHMS.md section 2, Baselines), computed on the dense
 * model: per block, the Wanda scores A = |W_ij| * ||X_j||_2 of all its linear layers are
 * concatenated; the block's outlier ratio is D = 100 * #{A > M * mean(A)} / numel. The ratios are
 * rescaled to r = (D - min D) / (max D - min D) * 2 * lambda, and block l gets density
 * r_l - mean(r) + (1 - S), so more outliers mean lower sparsity and the mean block sparsity is S.
 * Defaults: lambda = 0.08, M = 5.
 */
public final class OwlAllocation {
    public static final double DEFAULT_LAMBDA = 0.08;
    public static final double DEFAULT_M = 5.0;

    private OwlAllocation() {
    }

    /** One linear layer of a block: row-major weights [rows, cols] and its input norms ||X_j||_2. */
    public record Layer(int rows, int cols, float[] weight, double[] inputNorms) {
        public Layer {
            if (weight.length != (long) rows * cols || inputNorms.length != cols) {
                throw new IllegalArgumentException("weight must be rows*cols and inputNorms one per column");
            }
        }
    }

    /** D_l: percentage of the block's Wanda scores above M times their mean. */
    public static double outlierRatio(List<Layer> block, double m) {
        double sum = 0;
        long n = 0;
        for (Layer layer : block) {
            for (int r = 0; r < layer.rows(); r++) {
                for (int c = 0; c < layer.cols(); c++) {
                    sum += Math.abs(layer.weight()[r * layer.cols() + c]) * layer.inputNorms()[c];
                }
            }
            n += (long) layer.rows() * layer.cols();
        }
        double threshold = m * sum / n;
        long above = 0;
        for (Layer layer : block) {
            for (int r = 0; r < layer.rows(); r++) {
                for (int c = 0; c < layer.cols(); c++) {
                    if (Math.abs(layer.weight()[r * layer.cols() + c]) * layer.inputNorms()[c] > threshold) {
                        above++;
                    }
                }
            }
        }
        return 100.0 * above / n;
    }

    /** Per-block sparsities from the outlier ratios, averaging to {@code target}. */
    public static double[] sparsities(double[] outlierRatios, double target, double lambda) {
        if (!(target > 0 && target < 1)) {
            throw new EvocompressException("OWL target sparsity must be in (0, 1), but was " + target);
        }
        int n = outlierRatios.length;
        double min = Double.POSITIVE_INFINITY;
        double max = Double.NEGATIVE_INFINITY;
        for (double d : outlierRatios) {
            min = Math.min(min, d);
            max = Math.max(max, d);
        }
        double[] r = new double[n];
        double mean = 0;
        for (int i = 0; i < n; i++) {
            r[i] = max > min ? (outlierRatios[i] - min) / (max - min) * 2 * lambda : 0;
            mean += r[i] / n;
        }
        double[] sparsity = new double[n];
        for (int i = 0; i < n; i++) {
            sparsity[i] = 1 - (r[i] - mean + (1 - target));
        }
        return sparsity;
    }
}
