package io.evocompress.schedule;

import io.evocompress.EvocompressException;
import io.evocompress.database.SparsityGrid;

import java.util.List;
import java.util.PriorityQueue;

/**
 * The EvoPress genome nearest to a schedule ({@code init: scheduler}): integer levels of a
 * {@link SparsityGrid} whose sum is exactly 0, so the model's total zeros equal those of the uniform
 * genome. Unit u's continuous ideal is x_u = (zeros_u - baseZeros(numel_u)) / Delta. Each unit is
 * rounded to its nearest legal level, then the sum is fixed one step at a time, each step moving the
 * legal unit whose rounding went furthest in the wrong direction (ties: lower index). When the
 * ideals sum to about 0 and no unit is clamped, every level ends within 1 of its ideal.
 */
public final class GridLevels {
    private GridLevels() {
    }

    public static int[] nearest(SparsityGrid grid, long[] numel, long[] zeros) {
        int n = numel.length;
        if (zeros.length != n) {
            throw new IllegalArgumentException(n + " unit sizes but " + zeros.length + " zero counts");
        }
        double[] ideal = new double[n];
        int[] lo = new int[n];
        int[] hi = new int[n];
        int[] level = new int[n];
        long sum = 0;
        long sumLo = 0;
        long sumHi = 0;
        for (int u = 0; u < n; u++) {
            List<Integer> legal = grid.levels(numel[u]);
            if (legal.isEmpty()) {
                throw new EvocompressException("Unit " + u + " (" + numel[u] + " weights) has no legal level on the grid "
                    + grid + ": use a larger unit or another target");
            }
            lo[u] = legal.get(0);
            hi[u] = legal.get(legal.size() - 1);
            ideal[u] = grid.delta() == 0 ? 0 : (zeros[u] - grid.baseZeros(numel[u])) / (double) grid.delta();
            level[u] = (int) Math.max(lo[u], Math.min(hi[u], Math.floor(ideal[u] + 0.5)));
            sum += level[u];
            sumLo += lo[u];
            sumHi += hi[u];
        }
        if (sumLo > 0 || sumHi < 0) {
            throw new EvocompressException("No genome on the grid " + grid + " has levels summing to 0 (legal sums are ["
                + sumLo + ", " + sumHi + "])");
        }
        if (sum == 0) {
            return level;
        }
        int sign = sum > 0 ? -1 : 1;  // the direction units must move
        // moving down: largest (level - ideal) first; moving up: smallest first
        PriorityQueue<Integer> queue = new PriorityQueue<>((a, b) -> {
            int c = Double.compare(-sign * (level[b] - ideal[b]), -sign * (level[a] - ideal[a]));
            return c != 0 ? c : Integer.compare(a, b);
        });
        for (int u = 0; u < n; u++) {
            if (sign < 0 ? level[u] > lo[u] : level[u] < hi[u]) {
                queue.add(u);
            }
        }
        while (sum != 0) {
            int u = queue.poll();
            level[u] += sign;
            sum += sign;
            if (sign < 0 ? level[u] > lo[u] : level[u] < hi[u]) {
                queue.add(u);
            }
        }
        return level;
    }
}
