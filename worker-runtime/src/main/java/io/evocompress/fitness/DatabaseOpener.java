package io.evocompress.fitness;

import io.evocompress.database.VariantDatabase;

/** Opens a variant database (its manifest) at a location on any Hadoop file system. */
public final class DatabaseOpener implements VariantSourceOpener {
    private static final long serialVersionUID = 1L;

    @Override
    public VariantSource open(String location) {
        return VariantDatabase.open(location);
    }
}
