package io.evocompress.fitness;

import io.evocompress.database.LayerVariant;

/** Where compressed layer variants come from: a variant database, or variants built in memory. */
public interface VariantSource {
    /** The variant of {@code layer} (e.g. {@code model.layers.3.self_attn.q_proj}) at {@code level}. */
    LayerVariant variant(String layer, int level);
}
