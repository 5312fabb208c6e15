package io.evocompress.job;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.evocompress.calibration.InputGroup;
import io.evocompress.calibration.PartialStatistics;
import io.evocompress.checkpoint.CheckpointReader;
import io.evocompress.compress.PreparedHessian;
import io.evocompress.database.LayerLevels;
import io.evocompress.database.VariantStore;
import io.evocompress.device.DeviceChoice;
import io.evocompress.fs.HadoopFiles;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.function.Function;

import java.util.HashMap;

/**
 * A Spark task of a database build: one layer. Reads the dense weight from the checkpoint and the
 * Hessian of its input from {@code hessians/} (checked against the index's SHA-256), prepares H once
 * (one factorisation for all levels), writes every level and then the layer record
 * ({@link LayerLevels#build}). Returns the record as JSON.
 */
final class BuildLayer implements Function<LayerTask, String> {
    private static final long serialVersionUID = 1L;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final BuildDbSettings settings;
    private final String databaseId;
    private final HashMap<String, String> hessianChecksums;

    BuildLayer(BuildDbSettings settings, String databaseId, HashMap<String, String> hessianChecksums) {
        this.settings = settings;
        this.databaseId = databaseId;
        this.hessianChecksums = hessianChecksums;
    }

    @Override
    public String call(LayerTask task) throws JsonProcessingException {
        Path root = HadoopFiles.path(settings.output());
        FileSystem fs = BuildDbJob.outputFileSystem(root);
        VariantStore store = new VariantStore(fs, root);
        BuildDbJob.deleteTemporaries(fs, store.layerDir(task.unit()));
        PartialStatistics stats = HessianJob.readVerified(fs, root, task.block(), InputGroup.of(task.linear()), hessianChecksums);
        PreparedHessian hessian = PreparedHessian.of(stats.hessian(), settings.compressor().dampening());
        float[] weight;
        long[] shape;
        try (CheckpointReader checkpoint = CheckpointReader.open(HadoopFiles.path(settings.model()), HadoopFiles.defaultConf())) {
            String tensor = task.unit() + ".weight";
            shape = io.evocompress.model.TensorLayout.unitShape(checkpoint, tensor);
            weight = io.evocompress.model.TensorLayout.readUnit(checkpoint, tensor);
        }
        Device device = DeviceChoice.resolve(settings.device(), TaskResources.assignedGpu());
        VariantStore.LayerRecord record;
        try (NDManager manager = NDManager.newBaseManager(device)) {
            NDArray w = manager.create(weight, new Shape(shape));
            record = LayerLevels.build(store, task.unit(), w, hessian, settings.compressor(), databaseId);
        }
        return JSON.writeValueAsString(record);
    }
}
