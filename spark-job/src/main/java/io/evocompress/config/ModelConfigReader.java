package io.evocompress.config;

import io.evocompress.checkpoint.CheckpointReader;
import io.evocompress.fs.HadoopFiles;
import io.evocompress.model.ArchitectureRegistry;
import io.evocompress.model.ModelConfig;
import io.evocompress.model.ModelLoader;
import io.evocompress.model.TensorLayout;

/**
 * How a command's settings read the model they name: from the checkpoint (config.json checked
 * against the tensors, as every job does before its work), or from config.json alone, as
 * {@code evocompress plan} does for a model that is not on this machine (conf/models/).
 */
public interface ModelConfigReader {

    /**
     * The model's config; with {@code checkTensors} the checkpoint's tensors are checked against
     * its layout too (build-db), where the reader has tensors to check.
     */
    ModelConfig read(String model, boolean checkTensors);

    /** The checkpoint: config.json, its block count against the tensors, and optionally every tensor's shape. */
    ModelConfigReader CHECKPOINT = (model, checkTensors) -> {
        try (CheckpointReader reader = CheckpointReader.open(model)) {
            ModelConfig config = ModelLoader.config(reader);
            if (checkTensors) {
                TensorLayout.of(config).check(reader);
            }
            return config;
        }
    };

    /** {@code <model>/config.json} alone (no tensors needed; nothing checked against them). */
    ModelConfigReader CONFIG_JSON = (model, checkTensors) -> {
        org.apache.hadoop.fs.Path file = new org.apache.hadoop.fs.Path(HadoopFiles.path(model), CheckpointReader.CONFIG);
        String json = HadoopFiles.readUtf8(HadoopFiles.fileSystem(file, HadoopFiles.defaultConf()), file, "model config");
        return ArchitectureRegistry.parseConfig(json, file.toString());
    };
}
