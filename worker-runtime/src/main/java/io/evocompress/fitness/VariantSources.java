package io.evocompress.fitness;

import io.evocompress.ExecutorCache;

/**
 * Variant sources opened once per JVM, keyed by database location, held in the {@link ExecutorCache}
 * (kind {@code variant-sources}): tasks on an executor share one source (its index, its open files)
 * instead of opening the database per task.
 */
public final class VariantSources {
    private static final String KIND = "variant-sources";

    private VariantSources() {
    }

    public static VariantSource get(String location, VariantSourceOpener opener) {
        return ExecutorCache.get(KIND, location, ExecutorCache.UNBOUNDED, () -> opener.open(location));
    }

    /** Forgets every opened source (tests that rewrite a database at the same location). */
    public static void clear() {
        ExecutorCache.clear(KIND);
    }
}
