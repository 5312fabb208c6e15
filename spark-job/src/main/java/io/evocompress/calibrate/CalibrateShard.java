package io.evocompress.calibrate;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import io.evocompress.builddb.BuildDbJob;
import io.evocompress.calibration.DenseCalibration;
import io.evocompress.calibration.HessianFile;
import io.evocompress.database.VariantStore;
import io.evocompress.device.DeviceChoice;
import io.evocompress.fs.HadoopFiles;
import io.evocompress.model.CausalLm;
import io.evocompress.model.ModelCache;
import io.evocompress.spark.ShardRange;
import io.evocompress.spark.TaskResources;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.function.Function;
import org.apache.spark.broadcast.Broadcast;

import java.util.ArrayList;
import java.util.List;

/**
 * A Spark task of the calibration pass: runs the dense model (float32, from the executor's
 * {@link ModelCache}) block by block over its shard of the broadcast sequences and writes each
 * (block, input group)'s partial sum to {@code <partialRoot>/shard-<i>/block-<b>/<group>.bin}.
 * Returns the number of files written.
 */
final class CalibrateShard implements Function<ShardRange, Integer> {
    private static final long serialVersionUID = 1L;

    private final String model;
    private final String device;
    private final int batchSize;
    private final Broadcast<int[][]> sequences;
    private final String partialRoot;

    CalibrateShard(String model, String device, int batchSize, Broadcast<int[][]> sequences, String partialRoot) {
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
        CausalLm lm = ModelCache.get(model, dev, DataType.FLOAT32, HadoopFiles.defaultConf());
        int[][] all = sequences.value();
        List<int[]> mine = new ArrayList<>();
        for (int i = 0; i < all.length; i++) {
            if (shard.contains(i)) {
                mine.add(all[i]);
            }
        }
        Path root = new Path(partialRoot);
        FileSystem fs = BuildDbJob.outputFileSystem(root);
        VariantStore store = new VariantStore(fs, root);
        int[] written = {0};
        DenseCalibration.forEachBlockPartial(lm, mine, batchSize, lm.numBlocks(), (block, parts) ->
            parts.forEach((group, part) -> {
                store.writeAtomically(partialFile(root, shard.shard(), HessianJob.fileName(block, group)),
                    HessianFile.encode(part));
                written[0]++;
            }));
        return written[0];
    }
}
