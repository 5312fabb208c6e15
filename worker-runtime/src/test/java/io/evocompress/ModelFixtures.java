package io.evocompress;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.evocompress.checkpoint.CheckpointReader;
import io.evocompress.checkpoint.CheckpointWriter;
import io.evocompress.data.TokenIdsFile;
import io.evocompress.fs.HadoopFiles;
import io.evocompress.metrics.TokenMetrics;
import io.evocompress.model.CausalLm;
import io.evocompress.model.ModelLoader;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/** Helpers shared by tests that load fixture models and compare their logits. */
public final class ModelFixtures {
    private ModelFixtures() {
    }

    /** The 256 reference token ids stored with stories260K (reference_logits.safetensors). */
    public static int[] referenceIds() {
        Path file = HadoopFiles.path(Fixtures.stories260k().resolve("reference_logits.safetensors").toString());
        FileSystem fs = HadoopFiles.fileSystem(file, HadoopFiles.defaultConf());
        return TokenIdsFile.read(fs, file);
    }

    /** Float32 CPU logits (flattened [1, T, V]) of the checkpoint on the given ids. */
    public static float[] logits(CheckpointReader checkpoint, int[] ids) {
        try (CausalLm model = ModelLoader.load(checkpoint, Device.cpu(), DataType.FLOAT32);
             NDManager m = NDManager.newBaseManager(Device.cpu())) {
            return model.logits(m.create(ids, new Shape(1, ids.length))).toFloatArray();
        }
    }

    /** KL(P || Q) summed over the positions of logits given flat as [1, T, V]. */
    public static double klSum(float[] p, float[] q, int t, int v) {
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            NDArray a = m.create(p, new Shape(1, t, v));
            NDArray b = m.create(q, new Shape(1, t, v));
            return TokenMetrics.klSum(a, b);
        }
    }

    public static double maxAbsDiff(float[] a, float[] b) {
        if (a.length != b.length) {
            throw new AssertionError("lengths differ: " + a.length + " vs " + b.length);
        }
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, Math.abs((double) a[i] - b[i]));
        }
        return max;
    }

    /** The checkpoint's tensors, in file order, as writer input read lazily from the checkpoint. */
    public static List<CheckpointWriter.Tensor> tensors(CheckpointReader checkpoint, Predicate<String> keep) {
        List<CheckpointWriter.Tensor> out = new ArrayList<>();
        for (String name : checkpoint.tensorFiles().keySet()) {
            if (keep.test(name)) {
                out.add(new CheckpointWriter.Tensor(name, checkpoint.info(name).shape(), () -> checkpoint.readFloat(name)));
            }
        }
        return out;
    }

    public static List<CheckpointWriter.Tensor> tensors(CheckpointReader checkpoint) {
        return tensors(checkpoint, name -> true);
    }
}
