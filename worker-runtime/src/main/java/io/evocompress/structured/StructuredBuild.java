package io.evocompress.structured;

import io.evocompress.calibration.DenseCalibration;
import io.evocompress.checkpoint.CheckpointReader;
import io.evocompress.database.TensorHashes;
import io.evocompress.database.VariantStore;
import io.evocompress.model.CausalLm;
import io.evocompress.model.ModelConfig;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * Builds a whole structured database in one process (tests, small models; the Spark job builds one
 * (block, group) per task from the Hessians on storage instead, with the same {@link StructuredDatabase#buildUnit}).
 * The dense model runs block by block over the calibration sequences (dense inputs, section 1); each
 * block's o_proj and down_proj input Hessians feed one greedy run each.
 */
public final class StructuredBuild {
    private StructuredBuild() {
    }

    public static StructuredDatabase.Manifest inProcess(CausalLm dense, CheckpointReader checkpoint, List<int[]> sequences,
                                                        int batchSize, StructuredGrid grid, VariantStore store,
                                                        String databaseId, String configSha, String tokenSha,
                                                        Consumer<String> progress) {
        ModelConfig c = dense.config();
        List<StructuredDatabase.Unit> units = new ArrayList<>();
        DenseCalibration.forEachBlock(dense, sequences, batchSize, c.numLayers(), stats -> {
            for (StructureGroup g : StructureGroup.values()) {
                String tensor = StructuredDatabase.unitName(c, stats.block(), g) + ".weight";
                TensorHashes.Read weight = TensorHashes.readUnit(checkpoint, tensor);   // hashed as it is read
                units.add(StructuredDatabase.buildUnit(store, c, stats.block(), g, weight.values(), weight.sha256(),
                    stats.inputs().get(g.input()).hessian(), grid, databaseId, dense.device()));
                if (progress != null) {
                    progress.accept("built block " + stats.block() + " " + g.key());
                }
            }
        });
        StructuredDatabase.Manifest m = new StructuredDatabase.Manifest(StructuredDatabase.FORMAT_VERSION, databaseId,
            checkpoint.dir().toString(), configSha, tokenSha, grid.target(), grid.steps(), units,
            TensorHashes.unrecorded(checkpoint, StructuredDatabase.recorded(units)));
        StructuredDatabase.writeManifest(store, m);
        return m;
    }
}
