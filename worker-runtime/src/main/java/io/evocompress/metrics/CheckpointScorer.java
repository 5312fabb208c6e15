package io.evocompress.metrics;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import io.evocompress.model.HostWeightCache;
import io.evocompress.model.ModelCache;
import io.evocompress.model.Residency;
import io.evocompress.model.StreamedLm;
import org.apache.hadoop.conf.Configuration;

import java.util.List;

/**
 * Scores sequences with checkpoints named by location, resident ({@link ModelCache} and {@link ModelScorer})
 * or streamed ({@link StreamedLm} and {@link StreamedScorer}) as {@link Residency} says. {@code AUTO} streams
 * when the model and the reference, in the compute dtype, exceed {@code deviceMemory} (0: the device's free
 * memory, {@link io.evocompress.device.DeviceMemory#free}).
 */
public final class CheckpointScorer {
    private CheckpointScorer() {
    }

    /** The residency {@code requested} comes to for these models on this device. */
    public static Residency resolve(Residency requested, String model, String reference, Device device, DataType dtype,
                                    long deviceMemory, Configuration conf) {
        return requested.forCheckpoints(reference == null ? List.of(model) : List.of(model, reference), device, dtype,
            deviceMemory, conf);
    }

    public static SequenceScores score(Residency requested, String model, String reference, Device device, DataType dtype,
                                       long deviceMemory, int batchSize, List<int[]> sequences, Configuration conf) {
        Residency residency = resolve(requested, model, reference, device, dtype, deviceMemory, conf);
        if (residency == Residency.RESIDENT) {
            return new ModelScorer(ModelCache.get(model, device, dtype, conf),
                reference == null ? null : ModelCache.get(reference, device, dtype, conf), batchSize).score(sequences, null);
        }
        HostWeightCache cache = HostWeightCache.shared();
        try (StreamedLm lm = StreamedLm.open(model, conf, device, dtype, cache);
             StreamedLm ref = reference == null ? null : StreamedLm.open(reference, conf, device, dtype, cache)) {
            return new StreamedScorer(lm, ref, batchSize, StreamedScorer.DEFAULT_ACTIVATION_BYTES).score(sequences, null);
        }
    }
}
