package io.evocompress.evopress;

import io.evocompress.baselines.OwlAllocation;
import io.evocompress.builddb.LayerTask;
import io.evocompress.calibrate.DatabaseHessians;
import io.evocompress.calibration.InputGroup;
import io.evocompress.checkpoint.CheckpointReader;
import io.evocompress.database.TensorHashes;
import io.evocompress.database.VariantDatabase;
import io.evocompress.model.ModelConfig;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The OWL baseline's per-layer zero counts: block sparsities from the dense weights and the
 * calibration input norms of a database build ({@link OwlAllocation}), each layer of block b getting
 * round(s_b * numel) zeros (kept within (0, numel)). Each dense weight is hashed as it is read and
 * must match the hash the database recorded for it ({@link TensorHashes}).
 */
public final class OwlProfile {
    private OwlProfile() {
    }

    public static long[] zeros(String model, String database, List<LayerTask> layers, ModelConfig config, double target,
                               double lambda, double m) {
        DatabaseHessians hessians = new DatabaseHessians(database);
        // the dense weights read here must be those the database was built from (TensorHashes)
        Map<String, String> recorded = TensorHashes.recorded(VariantDatabase.open(database).manifest().layers());
        double[] ratios = new double[config.numLayers()];
        try (CheckpointReader reader = CheckpointReader.open(model)) {
            for (int b = 0; b < config.numLayers(); b++) {
                Map<InputGroup, double[]> norms = new LinkedHashMap<>();
                List<OwlAllocation.Layer> block = new ArrayList<>();
                for (LayerTask t : layers) {
                    if (t.block() != b) {
                        continue;
                    }
                    double[] n = norms.computeIfAbsent(InputGroup.of(t.linear()), g -> hessians.read(t.block(), g).columnNorms());
                    long[] shape = t.linear().shape(config);
                    TensorHashes.Read weight = TensorHashes.readUnit(reader, t.unit() + ".weight");
                    TensorHashes.verify(weight.sha256(), recorded, reader, database);
                    block.add(new OwlAllocation.Layer((int) shape[0], (int) shape[1], weight.values(), n));
                }
                ratios[b] = OwlAllocation.outlierRatio(block, m);
            }
        }
        double[] blockSparsity = OwlAllocation.sparsities(ratios, target, lambda);
        long[] zeros = new long[layers.size()];
        for (int i = 0; i < zeros.length; i++) {
            long[] shape = layers.get(i).linear().shape(config);
            long numel = shape[0] * shape[1];
            zeros[i] = Math.max(1, Math.min(numel - 1, Math.round(blockSparsity[layers.get(i).block()] * numel)));
        }
        return zeros;
    }
}
