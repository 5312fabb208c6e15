package io.evocompress.schedule;

import io.evocompress.EvocompressException;

/**
 * The sparsity range [min, max] the cluster levels are mapped onto before the shift to the target
 * (ALGORITHMS.md section 4, step 3; the paper's example is [0.6, 0.8] for target 0.7).
 */
public record SparsityRange(double min, double max) {
    public SparsityRange {
        if (!(min >= 0 && max < 1 && min <= max)) {
            throw new EvocompressException("scheduler.range must satisfy 0 <= min <= max < 1, but was [" + min + ", "
                + max + "]");
        }
    }

    /**
     * The range of total width {@code width} centred on the target, [t - w/2, t + w/2], clipped to
     * [0, cap]; width 0 is the uniform schedule. Width 0.2 around 0.7 is the paper's [0.6, 0.8].
     */
    public static SparsityRange around(double target, double width, double cap) {
        if (!(width >= 0 && width < 1)) {
            throw new EvocompressException("scheduler range width must be in [0, 1), but was " + width);
        }
        return new SparsityRange(Math.max(0, target - width / 2), Math.min(cap, target + width / 2));
    }

    public double width() {
        return max - min;
    }

    @Override
    public String toString() {
        return "[" + min + ", " + max + "]";
    }
}
