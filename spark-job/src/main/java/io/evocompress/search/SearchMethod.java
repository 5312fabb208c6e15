package io.evocompress.search;

import java.util.Locale;

/** How {@code evocompress search --method} searches: EvoPress's evolutionary search, or brute force (depth only). */
public enum SearchMethod {
    EVOPRESS, BRUTE_FORCE;

    /** The name on the command line and in result.json: evopress, brute-force. */
    public String label() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /** The method a label names; null when it names none. */
    public static SearchMethod ofLabel(String label) {
        for (SearchMethod m : values()) {
            if (m.label().equals(label)) {
                return m;
            }
        }
        return null;
    }

    @Override
    public String toString() {
        return label();
    }
}
