package io.evocompress.search;

import java.util.Arrays;
import java.util.function.IntPredicate;
import java.util.random.RandomGenerator;

/**
 * The move every domain is built from: among some units, one that may go up one level goes up and
 * another that may go down goes down. Both are drawn uniformly from the units that can make the move.
 */
final class LevelSwitch {
    private LevelSwitch() {
    }

    /** Whether a switch exists among {@code units}. */
    static boolean exists(Genome g, int[] units, IntPredicate canUp, IntPredicate canDown) {
        int up = -1;
        int down = -1;
        for (int u : units) {
            if (canUp.test(u)) {
                if (down >= 0 && down != u) {
                    return true;
                }
                up = u;
            }
            if (canDown.test(u)) {
                if (up >= 0 && up != u) {
                    return true;
                }
                down = u;
            }
        }
        return false;
    }

    /** The switched genome, or null when none exists. */
    static Genome apply(Genome g, int[] units, IntPredicate canUp, IntPredicate canDown, RandomGenerator random) {
        if (!exists(g, units, canUp, canDown)) {
            return null;
        }
        int[] up = Arrays.stream(units).filter(canUp).toArray();
        int[] down = Arrays.stream(units).filter(canDown).toArray();
        int a;
        int b;
        do { // terminates: two distinct units exist, so each draw succeeds with probability >= 1/2
            a = up[random.nextInt(up.length)];
            b = down[random.nextInt(down.length)];
        } while (a == b);
        int[] levels = g.levels();
        levels[a]++;
        levels[b]--;
        return new Genome(levels);
    }
}
