package io.evocompress.model;

import io.evocompress.EvocompressException;

import java.util.Locale;

/**
 * Where a forward keeps the model's weights: {@link #RESIDENT} loads the whole model onto the device once
 * ({@link ModelCache}); {@link #STREAMED} keeps one block (or the embeddings, or the head) on the device at a
 * time, read through the JVM's {@link HostWeightCache} ({@link StreamedLm}); {@link #AUTO} streams when the
 * models the task holds exceed the device memory it may use. Both give the same numbers.
 */
public enum Residency {
    AUTO, RESIDENT, STREAMED;

    /** auto, resident or streamed; {@code setting} is named in the error. */
    public static Residency parse(String text, String setting) {
        String s = text == null ? "auto" : text.trim().toLowerCase(Locale.ROOT);
        return switch (s) {
            case "auto" -> AUTO;
            case "resident" -> RESIDENT;
            case "streamed" -> STREAMED;
            default -> throw new EvocompressException(setting + " must be auto, resident or streamed, but was '" + text + "'.");
        };
    }

    /**
     * RESIDENT or STREAMED: this choice, or for AUTO, streamed exactly when {@code modelBytes} (the weights the
     * task would hold resident, in the compute dtype) exceed {@code deviceMemory}.
     */
    public Residency resolve(long modelBytes, long deviceMemory) {
        if (this != AUTO) {
            return this;
        }
        return modelBytes > deviceMemory ? STREAMED : RESIDENT;
    }

    /**
     * RESIDENT or STREAMED for a task holding the checkpoints at {@code locations} on {@code device} in
     * {@code dtype}: this choice, or for AUTO, streamed when their weights exceed {@code deviceMemory} bytes
     * (0: the device's free memory, {@link io.evocompress.device.DeviceMemory#free}).
     */
    public Residency forCheckpoints(java.util.List<String> locations, ai.djl.Device device, ai.djl.ndarray.types.DataType dtype,
                                    long deviceMemory, org.apache.hadoop.conf.Configuration conf) {
        if (this != AUTO) {
            return this;
        }
        long bytes = 0;
        for (String location : locations) {
            try (io.evocompress.checkpoint.CheckpointReader reader = io.evocompress.checkpoint.CheckpointReader.open(
                    io.evocompress.fs.HadoopFiles.path(location), conf)) {
                ModelConfig config = ModelLoader.config(reader);
                bytes += modelBytes(config, LayerShapes.parse(reader.configJson(), config, reader.dir() + "/config.json"),
                    dtype.getNumOfBytes());
            }
        }
        return resolve(bytes, deviceMemory > 0 ? deviceMemory : io.evocompress.device.DeviceMemory.free(device));
    }

    /** The weights of a model of {@code config} in {@code bytesPerValue}-byte values, the model's own shapes. */
    public static long modelBytes(ModelConfig config, java.util.List<BlockShape> shapes, int bytesPerValue) {
        return LayerShapes.parameterCount(config, shapes) * bytesPerValue;
    }

    @Override
    public String toString() {
        return name().toLowerCase(Locale.ROOT);
    }
}
