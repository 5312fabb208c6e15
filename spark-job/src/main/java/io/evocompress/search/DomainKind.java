package io.evocompress.search;

import java.util.Locale;

/** What a search searches over ({@code domain.kind}): per-layer sparsity, per-layer bit widths, or dropped block halves. */
public enum DomainKind {
    SPARSITY, BITS, DEPTH;

    /** The name in configurations and result.json: sparsity, bits, depth. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The kind a label names; null when it names none. */
    public static DomainKind ofLabel(String label) {
        for (DomainKind k : values()) {
            if (k.label().equals(label)) {
                return k;
            }
        }
        return null;
    }

    @Override
    public String toString() {
        return label();
    }
}
