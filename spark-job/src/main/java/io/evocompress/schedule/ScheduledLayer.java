package io.evocompress.schedule;

import io.evocompress.builddb.LayerTask;

import java.io.Serializable;

/**
 * One layer of a {@code schedule} run: the layer, and per profile level (0 uniform, 1 OWL, 2 + i the
 * i-th schedule) the exact number of its weights to prune.
 */
public record ScheduledLayer(LayerTask task, int[] levels, long[] zeros) implements Serializable {
    public ScheduledLayer {
        if (levels.length != zeros.length) {
            throw new IllegalArgumentException(levels.length + " levels but " + zeros.length + " zero counts");
        }
    }
}
