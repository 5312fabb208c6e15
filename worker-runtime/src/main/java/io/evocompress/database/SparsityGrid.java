package io.evocompress.database;

import io.evocompress.EvocompressException;

import java.util.ArrayList;
import java.util.List;

/**
 * EvoPress's sparsity levels (ALGORITHMS.md section 3): integer offsets l in [-L, +L] around the
 * target sparsity s, where every step changes a layer's number of zeros by the same absolute count
 * Delta, so moving one layer up and another down keeps the model's total number of zeros exactly
 * constant whatever the layer sizes. Default Delta = int(0.5 * min(s, 1 - s) / L * hidden^2). Levels
 * whose sparsity would leave (0, 1) do not exist.
 */
public record SparsityGrid(double target, int maxLevel, long delta) implements java.io.Serializable {

    public SparsityGrid {
        if (!(target > 0 && target < 1)) {
            throw new EvocompressException("sparsity target must be in (0, 1), but was " + target);
        }
        if (maxLevel < 0) {
            throw new EvocompressException("max level L must be >= 0, but was " + maxLevel);
        }
        if (delta <= 0 && maxLevel > 0) {
            throw new EvocompressException("level step Delta must be positive, but was " + delta);
        }
    }

    /** The grid with the default step for a model of this hidden size. */
    public static SparsityGrid withDefaultStep(double target, int maxLevel, int hidden) {
        long delta = (long) (0.5 * Math.min(target, 1 - target) / Math.max(1, maxLevel) * (double) hidden * hidden);
        return new SparsityGrid(target, maxLevel, Math.max(1, delta));
    }

    /** Zeros a layer of {@code numel} weights has at level 0: round(s * numel). */
    public long baseZeros(long numel) {
        return Math.round(target * numel);
    }

    /** Zeros at level l: baseZeros + l * Delta. */
    public long zeros(long numel, int level) {
        return baseZeros(numel) + level * delta;
    }

    /** Sparsity at level l: zeros / numel. */
    public double sparsity(long numel, int level) {
        return (double) zeros(numel, level) / numel;
    }

    /** The levels that exist for a layer of {@code numel} weights, ascending: sparsity strictly inside (0, 1). */
    public List<Integer> levels(long numel) {
        List<Integer> out = new ArrayList<>();
        for (int l = -maxLevel; l <= maxLevel; l++) {
            long z = zeros(numel, l);
            if (z > 0 && z < numel) {
                out.add(l);
            }
        }
        return out;
    }
}
