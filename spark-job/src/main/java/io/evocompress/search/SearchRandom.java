package io.evocompress.search;

import java.util.SplittableRandom;
import java.util.random.RandomGenerator;

/**
 * Every random choice of a search comes from a generator seeded from (seed, generation, purpose,
 * index), never from a generator carried along: generation g draws the same offspring and the same
 * minibatches whether the run started at 0 or resumed from a checkpoint, so no state needs saving.
 */
final class SearchRandom {
    enum Purpose { INITIAL, OFFSPRING, STAGE, CHECK }

    private SearchRandom() {
    }

    static RandomGenerator of(long seed, int generation, Purpose purpose, int index) {
        long h = mix(seed);
        h = mix(h + generation * 0x9E3779B97F4A7C15L);
        h = mix(h + (purpose.ordinal() + 1L) * 0xC2B2AE3D27D4EB4FL);
        h = mix(h + (index + 1L) * 0x165667B19E3779F9L);
        return new SplittableRandom(h);
    }

    /** SplitMix64's finaliser. */
    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
