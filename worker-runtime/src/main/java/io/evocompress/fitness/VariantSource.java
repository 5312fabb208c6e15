package io.evocompress.fitness;

/**
 * Where a candidate's compressed layers come from: one variant per (layer, database level). The
 * variant database implements it on executors (reading its files from the shared file system); tests
 * build variants in memory. Implementations must be safe to call from several task threads.
 */
public interface VariantSource {
    io.evocompress.database.LayerVariant variant(String layer, int level);

    /**
     * The full SHA-256 of each checkpoint tensor of the model the variants were built from, by checkpoint
     * name (the layer records' and the manifest's, {@link io.evocompress.database.TensorHashes}); empty when
     * the source records none.
     */
    default java.util.Map<String, String> tensorSha256() {
        return java.util.Map.of();
    }
}
