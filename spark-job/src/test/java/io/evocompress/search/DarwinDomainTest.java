package io.evocompress.search;

import io.evocompress.EvocompressException;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DarwinDomainTest {
    /** 4 blocks; attention levels -2..2 (block 3: -1..1), MLP levels -3..3. */
    private static DarwinDomain domain() {
        List<String> names = new ArrayList<>();
        List<List<Integer>> levels = new ArrayList<>();
        for (int b = 0; b < 4; b++) {
            names.add("model.layers." + b + ".self_attn");
            levels.add(b == 3 ? List.of(-1, 0, 1) : List.of(-2, -1, 0, 1, 2));
        }
        for (int b = 0; b < 4; b++) {
            names.add("model.layers." + b + ".mlp");
            levels.add(List.of(-3, -2, -1, 0, 1, 2, 3));
        }
        return new DarwinDomain(names, levels);
    }

    @Test
    void switchesKeepEachGroupsBudgetExactAndStayLegal() {
        DarwinDomain d = domain();
        Genome g = d.fixedStart().orElseThrow();
        SplittableRandom random = new SplittableRandom(7);
        int attentionMoves = 0;
        int changed = 0;
        for (int i = 0; i < 5000; i++) {
            Genome next = d.mutate(g, random);
            int sumA = 0;
            int sumM = 0;
            for (int b = 0; b < 4; b++) {
                sumA += next.level(b);
                sumM += next.level(4 + b);
                assertTrue(next.level(b) >= (b == 3 ? -1 : -2) && next.level(b) <= (b == 3 ? 1 : 2));
                assertTrue(Math.abs(next.level(4 + b)) <= 3);
            }
            assertEquals(0, sumA, "attention group keeps its removed heads");
            assertEquals(0, sumM, "MLP group keeps its removed neurons");
            assertTrue(d.withinBudget(next));
            if (!next.equals(g)) {
                changed++;
                boolean attention = false;
                for (int b = 0; b < 4; b++) {
                    attention |= next.level(b) != g.level(b);
                }
                attentionMoves += attention ? 1 : 0;
            }
            g = next;
        }
        // both groups have 4 units: each chosen about half the time
        assertEquals(0.5, (double) attentionMoves / changed, 0.05);
        assertFalse(d.withinBudget(new Genome(new int[] {1, 0, 0, 0, 0, 0, 0, 0})));
    }

    @Test
    void unitsNeedContiguousLevelsIncludingZero() {
        assertThrows(EvocompressException.class, () -> new DarwinDomain(List.of("a", "m"), List.of(List.of(1, 2), List.of(0))));
        assertThrows(EvocompressException.class, () -> new DarwinDomain(List.of("a"), List.of(List.of(0))));
    }
}
