package io.evocompress.eval;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import io.evocompress.device.DeviceChoice;
import io.evocompress.fs.HadoopFiles;
import io.evocompress.metrics.ModelScorer;
import io.evocompress.metrics.SequenceScores;
import io.evocompress.model.CausalLm;
import io.evocompress.model.ModelCache;
import io.evocompress.spark.ShardRange;
import io.evocompress.spark.TaskResources;
import org.apache.spark.api.java.function.Function;
import org.apache.spark.broadcast.Broadcast;

import java.util.ArrayList;
import java.util.List;

/**
 * A Spark task: scores one shard of the broadcast sequences with the model (and KL against the
 * reference model, if any) on the task's device. Models come from the executor's {@link ModelCache}:
 * read from the file system once per JVM, never shipped from the driver.
 */
public final class ScoreShard implements Function<ShardRange, SequenceScores> {
    private static final long serialVersionUID = 1L;

    private final String model;
    private final String reference; // null: no KL
    private final String device;
    private final String dtype;
    private final int batchSize;
    private final Broadcast<int[][]> sequences;

    public ScoreShard(String model, String reference, String device, String dtype, int batchSize,
                      Broadcast<int[][]> sequences) {
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
        CausalLm lm = ModelCache.get(model, dev, type, HadoopFiles.defaultConf());
        CausalLm ref = reference == null ? null : ModelCache.get(reference, dev, type, HadoopFiles.defaultConf());
        int[][] all = sequences.value();
        List<int[]> mine = new ArrayList<>();
        for (int i = 0; i < all.length; i++) {
            if (shard.contains(i)) {
                mine.add(all[i]);
            }
        }
        return new ModelScorer(lm, ref, batchSize).score(mine, null);
    }
}
