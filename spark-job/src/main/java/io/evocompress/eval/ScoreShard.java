package io.evocompress.eval;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import io.evocompress.device.DeviceChoice;
import io.evocompress.fs.HadoopFiles;
import io.evocompress.metrics.CheckpointScorer;
import io.evocompress.metrics.SequenceScores;
import io.evocompress.model.ModelCache;
import io.evocompress.model.Residency;
import io.evocompress.spark.ShardRange;
import io.evocompress.spark.TaskResources;
import org.apache.spark.api.java.function.Function;
import org.apache.spark.broadcast.Broadcast;

import java.util.ArrayList;
import java.util.List;

/**
 * A Spark task: scores one shard of the broadcast sequences with the model (and KL against the
 * reference model, if any) on the task's device. Resident models come from the executor's {@link ModelCache}:
 * read from the file system once per JVM, never shipped from the driver; streamed ones are read block by
 * block through the executor's host cache ({@link CheckpointScorer}).
 */
public final class ScoreShard implements Function<ShardRange, SequenceScores> {
    private static final long serialVersionUID = 1L;

    private final String model;
    private final String reference; // null: no KL
    private final String device;
    private final String dtype;
    private final int batchSize;
    private final Broadcast<int[][]> sequences;
    private final Residency residency;
    private final long deviceMemory;   // bytes for AUTO; 0: the device's free memory
    private final org.apache.spark.util.CollectionAccumulator<String> chosen;

    public ScoreShard(String model, String reference, String device, String dtype, int batchSize,
                      Broadcast<int[][]> sequences) {
        this(model, reference, device, dtype, batchSize, sequences, Residency.RESIDENT, 0, null);
    }

    /** @param chosen told the residency each task used (null: not reported) */
    public ScoreShard(String model, String reference, String device, String dtype, int batchSize,
                      Broadcast<int[][]> sequences, Residency residency, long deviceMemory,
                      org.apache.spark.util.CollectionAccumulator<String> chosen) {
        this.residency = residency;
        this.deviceMemory = deviceMemory;
        this.chosen = chosen;
        this.model = model;
        this.reference = reference;
        this.device = device;
        this.dtype = dtype;
        this.batchSize = batchSize;
        this.sequences = sequences;
    }

    @Override
    public SequenceScores call(ShardRange shard) {
        Device dev = DeviceChoice.resolve(device, TaskResources.assignedGpu());
        DataType type = DeviceChoice.dtype(dtype, dev);
        int[][] all = sequences.value();
        List<int[]> mine = new ArrayList<>();
        for (int i = 0; i < all.length; i++) {
            if (shard.contains(i)) {
                mine.add(all[i]);
            }
        }
        Residency used = CheckpointScorer.resolve(residency, model, reference, dev, type, deviceMemory,
            HadoopFiles.defaultConf());
        if (chosen != null) {
            chosen.add(used.toString());
        }
        return CheckpointScorer.score(used, model, reference, dev, type, deviceMemory, batchSize, mine,
            HadoopFiles.defaultConf());
    }
}
