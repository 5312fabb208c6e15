package io.evocompress.fitness;

import java.io.Serializable;

/**
 * Opens the {@link VariantSource} at a database location on an executor. Shipped to executors in the
 * evaluation task (a small named class, never a source with its data): each JVM opens a location once
 * through {@link VariantSources}.
 */
@FunctionalInterface
public interface VariantSourceOpener extends Serializable {
    VariantSource open(String location);
}
