package io.evocompress.schedule;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.evocompress.builddb.BuildDbJob;
import io.evocompress.builddb.BuildDbSettings;
import io.evocompress.builddb.LayerTask;
import io.evocompress.calibrate.HessianJob;
import io.evocompress.calibration.InputGroup;
import io.evocompress.checkpoint.CheckpointReader;
import io.evocompress.compress.CompressedLayer;
import io.evocompress.compress.PreparedHessian;
import io.evocompress.compress.QuantizationSpec;
import io.evocompress.compress.SparseGpt;
import io.evocompress.compress.SparsityPattern;
import io.evocompress.database.LayerLevels;
import io.evocompress.database.LayerVariant;
import io.evocompress.database.TensorHashes;
import io.evocompress.database.VariantStore;
import io.evocompress.device.DeviceChoice;
import io.evocompress.fs.HadoopFiles;
import io.evocompress.spark.TaskResources;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.function.Function;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;

/**
 * A Spark task of {@code schedule}: one layer. Reads the dense weight and the Hessian of its input
 * from the database's {@code hessians/} (checked against the index's SHA-256), factorises H once, and
 * for every profile level prunes the layer with SparseGPT to exactly its scheduled number of zeros
 * ({@link SparsityPattern#exactZeros}), jointly quantized to 4 bits when asked (one OBS pass: pruned
 * weights set to 0, kept weights quantized, the error of both compensated). Each variant is written
 * to the output's variant store, then the layer record; returns the record as JSON. The dense weight
 * is hashed as it is read and must match the hash the database recorded for it ({@link TensorHashes}):
 * a database reused for other weights is refused.
 */
final class CompressScheduledLayer implements Function<ScheduledLayer, String> {
    private static final long serialVersionUID = 1L;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final BuildDbSettings db;
    private final HashMap<String, String> hessianChecksums;
    private final String store;
    private final String storeId;
    private final int bits;
    private final int groupSize;
    private final HashMap<String, String> recordedTensors;

    /** @param recordedTensors the database's tensor hashes ({@link TensorHashes#recorded}): what each layer read must match */
    CompressScheduledLayer(BuildDbSettings db, HashMap<String, String> hessianChecksums, String store, String storeId,
                           int bits, int groupSize, HashMap<String, String> recordedTensors) {
        this.recordedTensors = recordedTensors;
        this.db = db;
        this.hessianChecksums = hessianChecksums;
        this.store = store;
        this.storeId = storeId;
        this.bits = bits;
        this.groupSize = groupSize;
    }

    @Override
    public String call(ScheduledLayer layer) throws JsonProcessingException {
        LayerTask task = layer.task();
        Path dbRoot = HadoopFiles.path(db.output());
        FileSystem dbFs = HadoopFiles.fileSystem(dbRoot, HadoopFiles.defaultConf());
        PreparedHessian hessian = PreparedHessian.of(HessianJob.readVerified(dbFs, dbRoot, task.block(),
            InputGroup.of(task.linear()), hessianChecksums).hessian(), db.compressor().dampening());
        float[] weight;
        long[] shape;
        try (CheckpointReader checkpoint = CheckpointReader.open(HadoopFiles.path(db.model()), HadoopFiles.defaultConf())) {
            shape = io.evocompress.model.TensorLayout.unitShape(checkpoint, task.unit() + ".weight");
            TensorHashes.Read read = TensorHashes.readUnit(checkpoint, task.unit() + ".weight");  // hashed as it is read
            TensorHashes.verify(read.sha256(), recordedTensors, checkpoint, dbRoot.toString());
            weight = read.values();
        }
        int rows = Math.toIntExact(shape[0]);
        int cols = Math.toIntExact(shape[1]);
        long numel = (long) rows * cols;
        int group = Math.min(groupSize, cols);
        QuantizationSpec spec = bits == 0 ? null : new QuantizationSpec(bits, group >= cols ? 0 : group, false);
        Path root = HadoopFiles.path(store);
        VariantStore out = new VariantStore(BuildDbJob.outputFileSystem(root), root);
        List<VariantStore.LayerRecord.Level> levels = new ArrayList<>();
        Device device = DeviceChoice.resolve(db.device(), TaskResources.assignedGpu());
        try (NDManager manager = NDManager.newBaseManager(device)) {
            NDArray w = manager.create(weight, new Shape(shape));
            for (int i = 0; i < layer.levels().length; i++) {
                long zeros = layer.zeros()[i];
                SparseGpt.Options options = new SparseGpt.Options(SparsityPattern.exactZeros(zeros, numel), spec,
                    db.compressor().blockSize(), db.compressor().dampening());
                CompressedLayer c = SparseGpt.compress(w, hessian, options);
                LayerVariant variant = spec == null ? new LayerVariant.Sparse(rows, cols, c.weight())
                    : LayerLevels.toVariant(c.quantized(), group);
                VariantStore.StoredFile file = out.write(task.unit(), layer.levels()[i], variant,
                    spec == null ? db.compressor().sparseValueBytes() : 2);
                levels.add(new VariantStore.LayerRecord.Level(layer.levels()[i], (double) zeros / numel,
                    spec == null ? null : bits, c.errorEstimate(), file));
            }
        }
        VariantStore.LayerRecord record = new VariantStore.LayerRecord(task.unit(), rows, cols, storeId, levels, null); // energies live in the database
        out.writeRecord(record);
        return JSON.writeValueAsString(record);
    }
}
