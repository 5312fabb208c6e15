package io.evocompress.config;

import io.evocompress.device.ByteSize;
import io.evocompress.model.Residency;

import java.io.Serializable;
import java.util.Set;

/**
 * {@code evaluation.residency} (auto | resident | streamed, default auto) and {@code evaluation.device-memory}
 * (bytes with an optional k/m/g/t suffix; default the task's device's free memory): where a task that runs
 * the dense model keeps its weights ({@link Residency}). Read by build-db, search and schedule for their
 * calibration pass and dense held-out perplexity, and by search for its candidates too; streamed and
 * resident give the same numbers bit for bit.
 *
 * @param deviceMemory bytes {@code auto} compares the model against; 0 for the device's free memory
 */
public record ResidencySettings(Residency residency, long deviceMemory) implements Serializable {
    public static final ResidencySettings AUTO = new ResidencySettings(Residency.AUTO, 0);
    public static final String RESIDENCY = "evaluation.residency";
    public static final String DEVICE_MEMORY = "evaluation.device-memory";
    public static final Set<String> KEYS = Set.of(RESIDENCY, DEVICE_MEMORY);

    public static ResidencySettings from(JobConfig c) {
        Residency residency = Residency.parse(c.stringOr(RESIDENCY, "auto"), "Setting '" + RESIDENCY + "' in " + c.source());
        long memory = c.has(DEVICE_MEMORY)
            ? ByteSize.parse(c.string(DEVICE_MEMORY), "Setting '" + DEVICE_MEMORY + "' in " + c.source()) : 0;
        return new ResidencySettings(residency, memory);
    }
}
