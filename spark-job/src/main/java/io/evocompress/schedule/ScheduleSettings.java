package io.evocompress.schedule;

import io.evocompress.EvocompressException;

/**
 * How a sparsity schedule is made, apart from its target and range.
 *
 * @param clusters    K, the number of log-error levels (at least 1)
 * @param cap         the highest sparsity any unit may get, in (0, 1); e.g. 0.99
 * @param granularity per linear layer or per block
 * @param errorFloor  errors below it are raised to it before log10; 0 refuses zero errors
 */
public record ScheduleSettings(int clusters, double cap, Granularity granularity, double errorFloor) {
    /** K = 10 levels, cap 0.99, per layer, zero errors refused: the project's defaults (its own choice). */
    public static final ScheduleSettings DEFAULTS = new ScheduleSettings(10, 0.99, Granularity.LAYER, 0);

    public ScheduleSettings {
        if (clusters < 1) {
            throw new EvocompressException("scheduler.clusters must be at least 1, but was " + clusters);
        }
        if (!(cap > 0 && cap < 1)) {
            throw new EvocompressException("scheduler.cap must be in (0, 1), but was " + cap);
        }
        if (granularity == null) {
            throw new EvocompressException("scheduler.granularity must be layer or block, but was not set");
        }
        if (!(errorFloor >= 0) || Double.isInfinite(errorFloor)) {
            throw new EvocompressException("scheduler.error_floor must be finite and >= 0, but was " + errorFloor);
        }
    }

    public ScheduleSettings withGranularity(Granularity g) {
        return new ScheduleSettings(clusters, cap, g, errorFloor);
    }

    public ScheduleSettings withClusters(int k) {
        return new ScheduleSettings(k, cap, granularity, errorFloor);
    }
}
