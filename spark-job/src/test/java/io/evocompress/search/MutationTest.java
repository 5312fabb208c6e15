package io.evocompress.search;

import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MutationTest {
    @Test
    void switchCountFollowsMinOfTwoUniforms() {
        SplittableRandom random = new SplittableRandom(5);
        int[] counts = new int[4];
        int n = 90_000;
        for (int i = 0; i < n; i++) {
            counts[Mutation.switchCount(random)]++;
        }
        assertEquals(0, counts[0]);
        assertEquals(5.0 / 9, counts[1] / (double) n, 0.006);
        assertEquals(3.0 / 9, counts[2] / (double) n, 0.006);
        assertEquals(1.0 / 9, counts[3] / (double) n, 0.006);
    }

    @Test
    void offspringAreDistinctAndDifferFromTheParent() {
        DepthDomain domain = DepthDomain.halves(8, 2);
        Genome parent = domain.random(new SplittableRandom(6));
        List<Genome> offspring = new Mutation(domain).offspring(parent, 64, new SplittableRandom(7));
        assertEquals(64, offspring.size());
        assertEquals(64, new HashSet<>(offspring).size());
        assertFalse(offspring.contains(parent));
        offspring.forEach(g -> assertTrue(domain.withinBudget(g)));
    }

    @Test
    void tinySpaceGivesEveryOtherGenomeOnceThenStops() {
        DepthDomain domain = DepthDomain.wholeBlocks(4, 1); // 4 configurations
        Genome parent = new Genome(new int[] {0, 1, 0, 0});
        List<Genome> offspring = new Mutation(domain).offspring(parent, 16, new SplittableRandom(8));
        assertEquals(Set.of(new Genome(new int[] {1, 0, 0, 0}), new Genome(new int[] {0, 0, 1, 0}), new Genome(new int[] {0, 0, 0, 1})),
            Set.copyOf(offspring));
        assertEquals(3, offspring.size());
        DepthDomain none = DepthDomain.wholeBlocks(4, 0); // no switch exists at all
        assertEquals(List.of(), new Mutation(none).offspring(new Genome(new int[4]), 8, new SplittableRandom(9)));
    }
}
