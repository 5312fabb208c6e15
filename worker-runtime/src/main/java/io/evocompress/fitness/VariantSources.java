package io.evocompress.fitness;

import java.util.HashMap;
import java.util.Map;

/**
 * Variant sources opened once per JVM, keyed by database location: tasks on an executor share one
 * source (its index, its open files) instead of opening the database per task.
 */
public final class VariantSources {
    private static final Map<String, VariantSource> SOURCES = new HashMap<>();

    private VariantSources() {
    }

    public static synchronized VariantSource get(String location, VariantSourceOpener opener) {
        return SOURCES.computeIfAbsent(location, opener::open);
    }

    /** Forgets every opened source (tests that rewrite a database at the same location). */
    public static synchronized void clear() {
        SOURCES.clear();
    }
}
