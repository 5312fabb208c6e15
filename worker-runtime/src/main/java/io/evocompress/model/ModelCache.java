package io.evocompress.model;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import io.evocompress.checkpoint.CheckpointReader;
import io.evocompress.fs.HadoopFiles;
import org.apache.hadoop.conf.Configuration;

import java.util.HashMap;
import java.util.Map;

/**
 * Models loaded once per JVM (an executor loads the dense model once, not once per task), keyed by
 * location, device and dtype. Loaded models are read-only: a task that changes weights loads its own.
 * The cache is closed when the JVM exits.
 */
public final class ModelCache {
    private static final Map<String, CausalLm> MODELS = new HashMap<>();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(ModelCache::clear, "evocompress-model-cache"));
    }

    private ModelCache() {
    }

    public static synchronized CausalLm get(String location, Device device, DataType dtype, Configuration conf) {
        String key = HadoopFiles.path(location) + "|" + device + "|" + dtype;
        CausalLm model = MODELS.get(key);
        if (model == null) {
            try (CheckpointReader reader = CheckpointReader.open(HadoopFiles.path(location), conf)) {
                model = ModelLoader.load(reader, device, dtype);
            }
            MODELS.put(key, model);
        }
        return model;
    }

    /** Closes and forgets every cached model. */
    public static synchronized void clear() {
        MODELS.values().forEach(CausalLm::close);
        MODELS.clear();
    }
}
