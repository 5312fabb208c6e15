package io.evocompress.fitness;

/**
 * Where a candidate's compressed layers come from: one variant per (layer, database level). The
 * variant database implements it on executors (reading its files from the shared file system); tests
 * build variants in memory. Implementations must be safe to call from several task threads.
 */
public interface VariantSource {
    io.evocompress.database.LayerVariant variant(String layer, int level);

    /**
     * The SHA-256 of each checkpoint tensor the variants were built from, by checkpoint name
     * ({@link io.evocompress.database.TensorHashes#recorded}); empty when the source records none.
     */
    default java.util.Map<String, String> tensorSha256() {
        return java.util.Map.of();
    }
}
