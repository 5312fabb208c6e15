package io.evocompress.schedule;

import io.evocompress.EvocompressException;

import java.util.Arrays;

/**
 * Clusters error estimates on a log10 scale into at most K levels (ALGORITHMS.md section 4, step 3).
 *
 * <p>Method: optimal one-dimensional k-means (minimum within-cluster sum of squares of log10(E)) by
 * dynamic programming over the sorted distinct values, O(K d^2) for d distinct values. It is exact
 * and deterministic, unlike Lloyd's iterations. Choices:
 * <ul>
 *   <li>Every unit counts once (not weighted by its size); equal values always share a cluster, because
 *       the DP runs over distinct values weighted by their multiplicity.</li>
 *   <li>With fewer distinct values d than K, each distinct value is its own cluster: d levels.</li>
 *   <li>Among equally good splits the DP keeps the one with the earliest boundary (strict comparison
 *       over boundaries in ascending order), so results never depend on iteration accidents.</li>
 *   <li>Errors below {@code floor} are raised to it before the logarithm. With floor 0 (the default) an
 *       error of exactly zero is refused with a message, because log10(0) places no unit anywhere.</li>
 * </ul>
 * Levels are numbered by ascending error: level 0 holds the smallest errors.
 */
public final class LogLevelClustering {
    private final int k;
    private final double floor;

    /** @param k the number of levels K, at least 1; @param floor errors below it are raised to it (0: refuse zeros) */
    public LogLevelClustering(int k, double floor) {
        if (k < 1) {
            throw new EvocompressException("scheduler.clusters must be at least 1, but was " + k);
        }
        if (!(floor >= 0) || Double.isInfinite(floor)) {
            throw new EvocompressException("scheduler.error_floor must be finite and >= 0, but was " + floor);
        }
        this.k = k;
        this.floor = floor;
    }

    public LogLevelClustering(int k) {
        this(k, 0);
    }

    /**
     * The clustering of the errors.
     *
     * @param levels  per input error, its level in [0, count)
     * @param centers per level, the mean log10(E) of its members, ascending
     * @param cost    the within-cluster sum of squares in log10 units (what the DP minimises)
     */
    public record Clusters(int[] levels, double[] centers, double cost) {
        public int count() {
            return centers.length;
        }
    }

    public int k() {
        return k;
    }

    public Clusters cluster(double[] errors) {
        if (errors.length == 0) {
            throw new EvocompressException("The scheduler needs at least one layer error, but got none");
        }
        double[] logs = new double[errors.length];
        for (int i = 0; i < errors.length; i++) {
            double e = Math.max(errors[i], floor);
            if (!(e > 0) || Double.isInfinite(e)) {
                throw new EvocompressException("Error estimate " + errors[i] + " of unit " + i + " has no logarithm: "
                    + "set scheduler.error_floor to a small positive value (e.g. 1e-12) to raise zero errors to it");
            }
            logs[i] = Math.log10(e);
        }
        // distinct sorted values and multiplicities
        double[] sorted = logs.clone();
        Arrays.sort(sorted);
        double[] values = new double[sorted.length];
        long[] counts = new long[sorted.length];
        int d = 0;
        for (double v : sorted) {
            if (d > 0 && values[d - 1] == v) {
                counts[d - 1]++;
            } else {
                values[d] = v;
                counts[d++] = 1;
            }
        }
        int levels = Math.min(k, d);
        int[] starts = optimalSegments(Arrays.copyOf(values, d), Arrays.copyOf(counts, d), levels);
        // per distinct value its level, then per input
        double[] centers = new double[levels];
        int[] levelOfValue = new int[d];
        double cost = 0;
        for (int c = 0; c < levels; c++) {
            int from = starts[c];
            int to = c + 1 < levels ? starts[c + 1] : d;
            double n = 0;
            double s = 0;
            for (int i = from; i < to; i++) {
                levelOfValue[i] = c;
                n += counts[i];
                s += counts[i] * values[i];
            }
            centers[c] = s / n;
            for (int i = from; i < to; i++) {
                double dev = values[i] - centers[c];
                cost += counts[i] * dev * dev;
            }
        }
        int[] out = new int[logs.length];
        double[] distinct = Arrays.copyOf(values, d);
        for (int i = 0; i < logs.length; i++) {
            out[i] = levelOfValue[Arrays.binarySearch(distinct, logs[i])];
        }
        return new Clusters(out, centers, cost);
    }

    /** The start index of each of {@code levels} contiguous segments of the sorted values minimising the weighted SSE. */
    private static int[] optimalSegments(double[] values, long[] counts, int levels) {
        int d = values.length;
        // prefix sums of weight, weight * x, weight * x^2 around the mean (limits cancellation)
        double mean = 0;
        double total = 0;
        for (int i = 0; i < d; i++) {
            mean += counts[i] * values[i];
            total += counts[i];
        }
        mean /= total;
        double[] pw = new double[d + 1];
        double[] px = new double[d + 1];
        double[] pxx = new double[d + 1];
        for (int i = 0; i < d; i++) {
            double x = values[i] - mean;
            pw[i + 1] = pw[i] + counts[i];
            px[i + 1] = px[i] + counts[i] * x;
            pxx[i + 1] = pxx[i] + counts[i] * x * x;
        }
        // cost[c][j]: best cost of the first j values in c + 1 segments; from[c][j]: start of the last segment
        double[][] cost = new double[levels][d + 1];
        int[][] from = new int[levels][d + 1];
        for (int j = 1; j <= d; j++) {
            cost[0][j] = sse(pw, px, pxx, 0, j);
        }
        for (int c = 1; c < levels; c++) {
            for (int j = c + 1; j <= d; j++) {
                double best = Double.POSITIVE_INFINITY;
                int arg = -1;
                for (int i = c; i < j; i++) {  // last segment = values[i, j)
                    double v = cost[c - 1][i] + sse(pw, px, pxx, i, j);
                    if (v < best) {
                        best = v;
                        arg = i;
                    }
                }
                cost[c][j] = best;
                from[c][j] = arg;
            }
        }
        int[] starts = new int[levels];
        int end = d;
        for (int c = levels - 1; c >= 1; c--) {
            starts[c] = from[c][end];
            end = starts[c];
        }
        return starts;
    }

    /** Weighted sum of squared deviations of values[i, j) from their mean. */
    private static double sse(double[] pw, double[] px, double[] pxx, int i, int j) {
        double w = pw[j] - pw[i];
        double s = px[j] - px[i];
        return Math.max(0, (pxx[j] - pxx[i]) - s * s / w);
    }
}
