package io.evocompress.builddb;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.evocompress.calibrate.HessianJob;
import io.evocompress.calibration.PartialStatistics;
import io.evocompress.checkpoint.CheckpointReader;
import io.evocompress.compress.PreparedHessian;
import io.evocompress.database.LayerLevels;
import io.evocompress.database.TensorHashes;
import io.evocompress.database.VariantStore;
import io.evocompress.device.DeviceChoice;
import io.evocompress.fs.HadoopFiles;
import io.evocompress.spark.TaskResources;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.function.FlatMapFunction;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;

/**
 * A Spark task of a database build: the layers of one block that read one input
 * ({@link InputGroupTask}: q, k, v; gate, up; o; down). Reads the Hessian of that input from
 * {@code hessians/} once (checked against the index's SHA-256) and prepares it once, so one
 * factorisation serves every level of every layer of the group; then per layer reads the dense weight
 * from the checkpoint and writes every level and then the layer record ({@link LayerLevels#build}),
 * which holds the full SHA-256 of the tensor as read ({@link TensorHashes}); a tensor that an existing
 * record of this database names (a layer rebuilt on resume) must have the recorded hash.
 * Returns the records as JSON, in the group's layer order.
 */
final class BuildLayer implements FlatMapFunction<InputGroupTask, String> {
    private static final long serialVersionUID = 1L;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final BuildDbSettings settings;
    private final String databaseId;
    private final HashMap<String, String> hessianChecksums;
    private final HashMap<String, String> recordedTensors;

    BuildLayer(BuildDbSettings settings, String databaseId, HashMap<String, String> hessianChecksums) {
        this(settings, databaseId, hessianChecksums, new HashMap<>());
    }

    /**
     * @param recordedTensors checkpoint tensor name to the SHA-256 this database's existing layer records
     *                        hold for it ({@link TensorHashes#recorded}): a tensor read again must match
     */
    BuildLayer(BuildDbSettings settings, String databaseId, HashMap<String, String> hessianChecksums,
               HashMap<String, String> recordedTensors) {
        this.settings = settings;
        this.databaseId = databaseId;
        this.hessianChecksums = hessianChecksums;
        this.recordedTensors = recordedTensors;
    }

    @Override
    public Iterator<String> call(InputGroupTask task) throws JsonProcessingException {
        Path root = HadoopFiles.path(settings.output());
        FileSystem fs = BuildDbJob.outputFileSystem(root);
        VariantStore store = new VariantStore(fs, root);
        PartialStatistics stats = HessianJob.readVerified(fs, root, task.block(), task.group(), hessianChecksums);
        PreparedHessian hessian = PreparedHessian.of(stats.hessian(), settings.compressor().dampening());
        Device device = DeviceChoice.resolve(settings.device(), TaskResources.assignedGpu());
        List<String> records = new ArrayList<>();
        try (CheckpointReader checkpoint = CheckpointReader.open(HadoopFiles.path(settings.model()), HadoopFiles.defaultConf())) {
            for (LayerTask layer : task.layers()) {
                BuildDbJob.deleteTemporaries(fs, store.layerDir(layer.unit()));
                String tensor = layer.unit() + ".weight";
                long[] shape = io.evocompress.model.TensorLayout.unitShape(checkpoint, tensor);   // a fused tensor's part too
                TensorHashes.Read weight = TensorHashes.readUnit(checkpoint, tensor);   // hashed as it is read
                TensorHashes.verify(weight.sha256(), recordedTensors, checkpoint, root.toString());
                VariantStore.LayerRecord record;
                try (NDManager manager = NDManager.newBaseManager(device)) {
                    NDArray w = io.evocompress.device.EngineTransfer.create(manager, weight.values(),
                        Math.toIntExact(shape[0]), Math.toIntExact(shape[1]));   // row slices over 256 MiB
                    record = LayerLevels.build(store, layer.unit(), w, hessian, settings.compressor(), databaseId,
                        weight.sha256());
                }
                records.add(JSON.writeValueAsString(record));
            }
        }
        return records.iterator();
    }
}
