package io.evocompress.builddb;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.evocompress.calibrate.HessianJob;
import io.evocompress.calibration.Hessian;
import io.evocompress.checkpoint.CheckpointReader;
import io.evocompress.database.TensorHashes;
import io.evocompress.database.VariantStore;
import io.evocompress.device.DeviceChoice;
import io.evocompress.fs.HadoopFiles;
import io.evocompress.model.ModelConfig;
import io.evocompress.model.ModelLoader;
import io.evocompress.spark.TaskResources;
import io.evocompress.structured.StructureGroup;
import io.evocompress.structured.StructuredDatabase;
import io.evocompress.structured.StructuredGrid;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.function.Function;

import java.util.HashMap;

/**
 * A Spark task of the structured database build: one (block, group), given as {@code "block:group"}.
 * Reads the dense pruned layer (o_proj or down_proj) and its input Hessian (checked against the
 * Hessian index), runs the greedy structured OBS once for every level, writes the level files and
 * the unit record, which holds the full SHA-256 of the layer's checkpoint tensor, computed as it was read
 * ({@link TensorHashes}). Returns the record as JSON.
 */
public final class BuildStructuredUnit implements Function<String, String> {
    private static final long serialVersionUID = 1L;
    private static final ObjectMapper JSON = new ObjectMapper();
    private final String model;
    private final String root;
    private final double target;
    private final int steps;
    private final String databaseId;
    private final HashMap<String, String> hessianChecksums;
    private final String device;

    /** @param device the run's {@code device} setting, resolved in the task against the GPU Spark assigned it */
    public BuildStructuredUnit(String model, String root, StructuredGrid grid, String databaseId, HashMap<String, String> hessianChecksums,
                               String device) {
        this.model = model;
        this.root = root;
        this.target = grid.target();
        this.steps = grid.steps();
        this.databaseId = databaseId;
        this.hessianChecksums = hessianChecksums;
        this.device = device;
    }

    @Override
    public String call(String unit) throws Exception {
        String[] parts = unit.split(":");
        int block = Integer.parseInt(parts[0]);
        StructureGroup group = StructureGroup.valueOf(parts[1]);
        Path rootPath = HadoopFiles.path(root);
        FileSystem fs = BuildDbJob.outputFileSystem(rootPath);
        VariantStore store = new VariantStore(fs, rootPath);
        Hessian hessian = HessianJob.readVerified(fs, rootPath, block, group.input(), hessianChecksums).hessian();
        try (CheckpointReader checkpoint = CheckpointReader.open(HadoopFiles.path(model), HadoopFiles.defaultConf())) {
            ModelConfig c = ModelLoader.config(checkpoint);
            // hashed as it is read, recorded in the unit: what reads the dense model against the database checks it
            TensorHashes.Read weight = TensorHashes.readUnit(checkpoint, StructuredDatabase.unitName(c, block, group) + ".weight");
            StructuredDatabase.Unit u = StructuredDatabase.buildUnit(store, c, block, group, weight.values(), weight.sha256(),
                hessian, new StructuredGrid(target, steps), databaseId,
                DeviceChoice.resolve(device, TaskResources.assignedGpu()));
            return JSON.writeValueAsString(u);
        }
    }
}
