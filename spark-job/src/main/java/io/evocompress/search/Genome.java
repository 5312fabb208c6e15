package io.evocompress.search;

import java.util.Arrays;

/**
 * One candidate: an immutable vector of levels over a domain's ordered units (ALGORITHMS.md
 * section 3). What a level means (a database level of a linear layer, a bit width, whether a block
 * half is dropped) is the domain's business; the search only compares, copies and mutates levels.
 */
public final class Genome {
    private final int[] levels;

    public Genome(int[] levels) {
        this.levels = levels.clone();
    }

    public int size() {
        return levels.length;
    }

    public int level(int unit) {
        return levels[unit];
    }

    /** A copy of the levels. */
    public int[] levels() {
        return levels.clone();
    }

    /** A genome with one unit's level changed. */
    public Genome with(int unit, int level) {
        int[] copy = levels.clone();
        copy[unit] = level;
        return new Genome(copy);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Genome g && Arrays.equals(levels, g.levels);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(levels);
    }

    @Override
    public String toString() {
        return Arrays.toString(levels);
    }
}
