package io.evocompress.model;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import io.evocompress.ExecutorCache;
import io.evocompress.checkpoint.CheckpointReader;
import io.evocompress.fs.HadoopFiles;
import org.apache.hadoop.conf.Configuration;

/**
 * Models loaded once per JVM (an executor loads the dense model once, not once per task), keyed by
 * location, device and dtype, held in the {@link ExecutorCache} (kind {@code models}, never evicted).
 * Loaded models are read-only: a task that changes weights loads its own.
 */
public final class ModelCache {
    private static final String KIND = "models";

    private ModelCache() {
    }

    public static CausalLm get(String location, Device device, DataType dtype, Configuration conf) {
        String key = HadoopFiles.path(location) + "|" + device + "|" + dtype;
        return ExecutorCache.get(KIND, key, ExecutorCache.UNBOUNDED, () -> {
            try (CheckpointReader reader = CheckpointReader.open(HadoopFiles.path(location), conf)) {
                return ModelLoader.load(reader, device, dtype);
            }
        });
    }

    /** Closes and forgets every cached model. */
    public static void clear() {
        ExecutorCache.clear(KIND);
    }
}
