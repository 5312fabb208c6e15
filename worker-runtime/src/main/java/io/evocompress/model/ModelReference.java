package io.evocompress.model;

import io.evocompress.checkpoint.CheckpointReader;
import io.evocompress.database.VariantStore;
import io.evocompress.database.WeightsFingerprint;
import io.evocompress.fs.HadoopFiles;

import java.nio.charset.StandardCharsets;

/**
 * A model as a command resolves it once, before any work, and passes down to its stages: where it is,
 * its parsed configuration, its family, and the hash of its config.json (what databases and Hessians
 * are keyed by). The weights' fingerprint is read when first asked for. Driver-side: executors get
 * the location and open the checkpoint themselves.
 */
public final class ModelReference {
    private final String location;
    private final ModelConfig config;
    private final Architecture family;
    private final String configSha256;
    private final boolean hasTensors;
    private String weightsSha256;

    private ModelReference(String location, ModelConfig config, Architecture family, String configSha256,
                           boolean hasTensors) {
        this.location = location;
        this.config = config;
        this.family = family;
        this.configSha256 = configSha256;
        this.hasTensors = hasTensors;
    }

    /** Opens the checkpoint at {@code location} and parses its config.json (errors name the file). */
    public static ModelReference resolve(String location) {
        try (CheckpointReader reader = CheckpointReader.open(location)) {
            ModelConfig config = ModelLoader.config(reader);
            Architecture family = ArchitectureRegistry.forType(config.modelType(), location);
            return new ModelReference(location, config, family,
                VariantStore.sha256(reader.configJson().getBytes(StandardCharsets.UTF_8)), true);
        }
    }

    /**
     * {@code <location>/config.json} alone, for planning a model whose weights are not here (conf/models/):
     * nothing is checked against tensors, and there is no weights fingerprint.
     */
    public static ModelReference configJsonOnly(String location) {
        org.apache.hadoop.fs.Path file = new org.apache.hadoop.fs.Path(HadoopFiles.path(location), CheckpointReader.CONFIG);
        String json = HadoopFiles.readUtf8(HadoopFiles.fileSystem(file, HadoopFiles.defaultConf()), file, "model config");
        ModelConfig config = ArchitectureRegistry.parseConfig(json, file.toString());
        return new ModelReference(location, config, ArchitectureRegistry.forType(config.modelType(), file.toString()),
            VariantStore.sha256(json.getBytes(StandardCharsets.UTF_8)), false);
    }

    /** The location as the user gave it (any Hadoop URI or local path). */
    public String location() {
        return location;
    }

    public ModelConfig config() {
        return config;
    }

    public Architecture family() {
        return family;
    }

    /** SHA-256 of config.json's bytes. */
    public String configSha256() {
        return configSha256;
    }

    /** {@link WeightsFingerprint} of the checkpoint's tensors, read on first use. */
    public synchronized String weightsSha256() {
        if (!hasTensors) {
            throw new IllegalStateException(location + " was read from config.json alone: it has no weights fingerprint");
        }
        if (weightsSha256 == null) {
            try (CheckpointReader reader = CheckpointReader.open(location)) {
                weightsSha256 = WeightsFingerprint.of(reader);
            }
        }
        return weightsSha256;
    }

    /**
     * Checks that the checkpoint holds every tensor its family's layout needs, with the right shapes
     * (nothing to check for a model read from config.json alone).
     */
    public void checkTensors() {
        if (!hasTensors) {
            return;
        }
        try (CheckpointReader reader = CheckpointReader.open(location)) {
            TensorLayout.of(config).check(reader);
        }
    }

    @Override
    public String toString() {
        return location + " (" + config.modelType() + ", " + config.numLayers() + " blocks)";
    }
}
