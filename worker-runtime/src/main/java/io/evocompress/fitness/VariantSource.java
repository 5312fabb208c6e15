package io.evocompress.fitness;

/** Where candidate models get their compressed layers from: one variant per (layer, level). */
public interface VariantSource {
    io.evocompress.database.LayerVariant variant(String layer, int level);
}
