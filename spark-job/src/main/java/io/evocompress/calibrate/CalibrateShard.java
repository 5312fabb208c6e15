package io.evocompress.calibrate;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import io.evocompress.builddb.BuildDbJob;
import io.evocompress.calibration.DenseCalibration;
import io.evocompress.config.ResidencySettings;
import io.evocompress.device.DeviceChoice;
import io.evocompress.fs.HadoopFiles;
import io.evocompress.model.CausalLm;
import io.evocompress.model.HostWeightCache;
import io.evocompress.model.ModelCache;
import io.evocompress.model.Residency;
import io.evocompress.model.StreamedLm;
import io.evocompress.spark.ShardRange;
import io.evocompress.spark.TaskResources;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.function.Function;
import org.apache.spark.broadcast.Broadcast;

import java.util.ArrayList;
import java.util.List;

/**
 * A Spark task of the calibration pass: runs the dense model (float32, resident from the executor's
 * {@link ModelCache}, or streamed one block at a time as {@code evaluation.residency} says) block by
 * block over its shard of the broadcast sequences and writes each (block, input group)'s partial sum to {@code <partialRoot>/shard-<i>/block-<b>/<group>.bin}.
 * Returns the number of files written.
 */
final class CalibrateShard implements Function<ShardRange, Integer> {
    private static final long serialVersionUID = 1L;

    private final String model;
    private final String device;
    private final int batchSize;
    private final Broadcast<int[][]> sequences;
    private final String partialRoot;
    private final ResidencySettings residency;

    CalibrateShard(String model, String device, int batchSize, Broadcast<int[][]> sequences, String partialRoot,
                   ResidencySettings residency) {
        this.residency = residency;
        this.model = model;
        this.device = device;
        this.batchSize = batchSize;
        this.sequences = sequences;
        this.partialRoot = partialRoot;
    }

    static Path partialFile(Path partialRoot, int shard, String name) {
        return new Path(new Path(partialRoot, "shard-" + shard), name);
    }

    @Override
    public Integer call(ShardRange shard) {
        Device dev = DeviceChoice.resolve(device, TaskResources.assignedGpu());
        int[][] all = sequences.value();
        List<int[]> mine = new ArrayList<>();
        for (int i = 0; i < all.length; i++) {
            if (shard.contains(i)) {
                mine.add(all[i]);
            }
        }
        Path root = new Path(partialRoot);
        FileSystem fs = BuildDbJob.outputFileSystem(root);
        int[] written = {0};
        // each accumulator's file written straight off the device, one row block of H at a time (never the
        // block's four Hessians on the heap, nor one as a Java array: a wide input's file is larger than one)
        DenseCalibration.AccumulatorVisitor write = (block, accumulators) ->
            accumulators.forEach((group, acc) -> {
                HessianFiles.write(fs, partialFile(root, shard.shard(), HessianJob.fileName(block, group)),
                    HessianJob.fileName(block, group), acc::writePartial);
                written[0]++;
            });
        var conf = HadoopFiles.defaultConf();
        Residency used = residency.residency().forCheckpoints(List.of(model), dev, DataType.FLOAT32, residency.deviceMemory(),
            conf);
        if (used == Residency.RESIDENT) {
            CausalLm lm = ModelCache.get(model, dev, DataType.FLOAT32, conf);
            DenseCalibration.forEachBlockAccumulators(lm, mine, batchSize, lm.numBlocks(), write);
        } else {
            try (StreamedLm lm = StreamedLm.open(model, conf, dev, DataType.FLOAT32, HostWeightCache.shared())) {
                DenseCalibration.forEachBlockAccumulators(lm, mine, batchSize, lm.numBlocks(), write);
            }
        }
        return written[0];
    }
}
