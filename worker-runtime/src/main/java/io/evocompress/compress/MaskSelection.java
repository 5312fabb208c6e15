package io.evocompress.compress;

import java.util.Arrays;

/** Marks the lowest-scoring weights of a contiguous range, exactly as many as asked. */
final class MaskSelection {
    private MaskSelection() {
    }

    /**
     * Sets {@code mask[i] = true} for the {@code count} lowest {@code scores[i]}, i in [from, to);
     * ties at the threshold go to the lower index, so exactly {@code count} entries are marked.
     */
    static void markLowest(double[] scores, int from, int to, int count, boolean[] mask) {
        if (count <= 0) {
            return;
        }
        if (count >= to - from) {
            Arrays.fill(mask, from, to, true);
            return;
        }
        double threshold = kthSmallest(Arrays.copyOfRange(scores, from, to), count - 1);
        int marked = 0;
        for (int i = from; i < to; i++) {
            if (scores[i] < threshold) {
                mask[i] = true;
                marked++;
            }
        }
        for (int i = from; i < to && marked < count; i++) {
            if (scores[i] == threshold) {
                mask[i] = true;
                marked++;
            }
        }
    }

    /**
     * The k-th smallest value (0-based) of {@code x}, which is reordered: quickselect, the value a sort
     * would put at index k, in linear expected time instead of a sort's n log n.
     */
    static double kthSmallest(double[] x, int k) {
        int lo = 0;
        int hi = x.length - 1;
        while (hi > lo) {
            // median of three as the pivot
            int mid = (lo + hi) >>> 1;
            double pivot = median(x[lo], x[mid], x[hi]);
            int i = lo;
            int j = hi;
            while (i <= j) {
                while (x[i] < pivot) {
                    i++;
                }
                while (x[j] > pivot) {
                    j--;
                }
                if (i <= j) {
                    double t = x[i];
                    x[i] = x[j];
                    x[j] = t;
                    i++;
                    j--;
                }
            }
            // [lo, j] <= pivot <= [i, hi]; between them, all equal to the pivot
            if (k <= j) {
                hi = j;
            } else if (k >= i) {
                lo = i;
            } else {
                return x[k];
            }
        }
        return x[k];
    }

    private static double median(double a, double b, double c) {
        return Math.max(Math.min(a, b), Math.min(Math.max(a, b), c));
    }

    /** N:M: in each row of a (rows, cols) score matrix, marks the N lowest of every M columns. */
    static void markNOfM(double[] scores, int rows, int cols, SparsityPattern pattern, boolean[] mask) {
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c += pattern.m()) {
                markLowest(scores, r * cols + c, r * cols + c + pattern.m(), pattern.n(), mask);
            }
        }
    }
}
