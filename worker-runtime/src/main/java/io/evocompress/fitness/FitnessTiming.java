package io.evocompress.fitness;

import java.io.Serializable;

/**
 * Where an evaluation's time went, in nanoseconds: applying the candidate's layers (stitching), the
 * candidate's forward passes, and the fitness metric (teacher upload, log-softmax, KL or NLL).
 */
public record FitnessTiming(long stitchNanos, long forwardNanos, long metricNanos) implements Serializable {
    public static final FitnessTiming ZERO = new FitnessTiming(0, 0, 0);

    public FitnessTiming plus(FitnessTiming o) {
        return new FitnessTiming(stitchNanos + o.stitchNanos, forwardNanos + o.forwardNanos, metricNanos + o.metricNanos);
    }

    public FitnessTiming withStitch(long nanos) {
        return new FitnessTiming(nanos, forwardNanos, metricNanos);
    }

    public long totalNanos() {
        return stitchNanos + forwardNanos + metricNanos;
    }
}
