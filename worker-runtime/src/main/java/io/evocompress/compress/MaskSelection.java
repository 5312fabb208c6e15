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
        double[] sorted = Arrays.copyOfRange(scores, from, to);
        Arrays.sort(sorted);
        double threshold = sorted[count - 1];
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

    /** N:M: in each row of a (rows, cols) score matrix, marks the N lowest of every M columns. */
    static void markNOfM(double[] scores, int rows, int cols, SparsityPattern pattern, boolean[] mask) {
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c += pattern.m()) {
                markLowest(scores, r * cols + c, r * cols + c + pattern.m(), pattern.n(), mask);
            }
        }
    }
}
