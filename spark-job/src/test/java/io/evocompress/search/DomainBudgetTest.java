package io.evocompress.search;

import io.evocompress.database.SparsityGrid;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DomainBudgetTest {
    /** Two Llama-like blocks (hidden 64, intermediate 172, 4 KV heads of 8) and one odd-sized layer. */
    static List<LinearUnit> llamaUnits() {
        List<LinearUnit> units = new ArrayList<>();
        for (int b = 0; b < 2; b++) {
            String p = "model.layers." + b + ".";
            units.add(new LinearUnit(p + "self_attn.q_proj", 64 * 64));
            units.add(new LinearUnit(p + "self_attn.k_proj", 32 * 64));
            units.add(new LinearUnit(p + "self_attn.v_proj", 32 * 64));
            units.add(new LinearUnit(p + "self_attn.o_proj", 64 * 64));
            units.add(new LinearUnit(p + "mlp.gate_proj", 172 * 64));
            units.add(new LinearUnit(p + "mlp.up_proj", 172 * 64));
            units.add(new LinearUnit(p + "mlp.down_proj", 64 * 172));
        }
        units.add(new LinearUnit("lm_head", 100 * 64));
        return units;
    }

    private static int changedUnits(Genome a, Genome b) {
        int n = 0;
        for (int u = 0; u < a.size(); u++) {
            n += a.level(u) != b.level(u) ? 1 : 0;
        }
        return n;
    }

    @Test
    void sparsitySwitchesKeepTotalZerosExact() {
        List<LinearUnit> units = llamaUnits();
        SparsityGrid grid = SparsityGrid.withDefaultStep(0.7, 8, 128); // Delta = 307: the k/v layers lose their top levels
        SparsityDomain domain = SparsityDomain.fromGrid(units, grid);
        assertTrue(domain.levels(1).length < domain.levels(0).length, "the grid must leave some levels out of small layers");
        long zeros = units.stream().mapToLong(u -> grid.baseZeros(u.numel())).sum();
        SplittableRandom random = new SplittableRandom(1);
        Genome g = domain.fixedStart().orElseThrow();
        int atEdge = 0;
        for (int i = 0; i < 5000; i++) {
            Genome next = domain.mutate(g, random);
            assertEquals(2, changedUnits(g, next));
            assertTrue(domain.withinBudget(next), next::toString);
            long z = 0;
            for (int u = 0; u < units.size(); u++) {
                z += grid.zeros(units.get(u).numel(), next.level(u));
                int[] legal = domain.levels(u);
                atEdge += next.level(u) == legal[0] || next.level(u) == legal[legal.length - 1] ? 1 : 0;
            }
            assertEquals(zeros, z, "total zeros after switch " + i);
            g = next;
        }
        assertTrue(atEdge > 0, "the walk must reach the edge levels, where a wrong legality check would show");
    }

    @Test
    void bitsSwitchesKeepTotalBitsExactAndPickGroupsBySize() {
        List<LinearUnit> units = llamaUnits();
        BitsDomain domain = new BitsDomain(units, 4);
        Genome start = domain.fixedStart().orElseThrow();
        long bits = domain.totalBits(start);
        assertEquals(4L * units.stream().mapToLong(LinearUnit::numel).sum(), bits);
        SplittableRandom random = new SplittableRandom(2);
        Genome g = start;
        for (int i = 0; i < 5000; i++) {
            Genome next = domain.mutate(g, random);
            assertEquals(2, changedUnits(g, next));
            assertEquals(bits, domain.totalBits(next), "total bits after switch " + i);
            assertTrue(domain.withinBudget(next));
            assertEquals(4, next.level(units.size() - 1), "lm_head is alone in its size group and can never switch");
            g = next;
        }
        // Groups by size: q/o (4 units), k/v (4), gate/up/down (6); lm_head (1) has no switch.
        int[] counts = new int[3];
        int trials = 28_000;
        for (int i = 0; i < trials; i++) {
            Genome next = domain.mutate(start, random);
            int changed = 0;
            while (next.level(changed) == 4) {
                changed++;
            }
            String name = units.get(changed).name();
            counts[name.contains("mlp") ? 2 : name.contains("q_proj") || name.contains("o_proj") ? 0 : 1]++;
        }
        assertEquals(4.0 / 14, counts[0] / (double) trials, 0.01);
        assertEquals(4.0 / 14, counts[1] / (double) trials, 0.01);
        assertEquals(6.0 / 14, counts[2] / (double) trials, 0.01);
    }

    @Test
    void nonIntegerBitsStartIsWithinBudgetAndTight() {
        List<LinearUnit> units = llamaUnits();
        long maxNumel = units.stream().mapToLong(LinearUnit::numel).max().orElseThrow();
        for (double target : new double[] {2.25, 2.5, 3.7}) {
            BitsDomain domain = new BitsDomain(units, target);
            assertTrue(domain.fixedStart().isEmpty());
            SplittableRandom random = new SplittableRandom(3);
            for (int i = 0; i < 200; i++) {
                Genome g = domain.random(random);
                assertTrue(domain.withinBudget(g), target + ": " + g);
                assertTrue(domain.totalBits(g) > domain.budgetBits() - maxNumel, "lowering must stop as soon as within budget");
                for (int u = 0; u < g.size(); u++) {
                    assertTrue(g.level(u) >= 2 && g.level(u) <= (int) Math.ceil(target), "only lowered from ceil(target)");
                }
            }
        }
        // Through the search: the start is the best of 64 on 2048 tokens, and within budget.
        BitsDomain domain = new BitsDomain(units, 2.25);
        SyntheticEvaluator evaluator = new SyntheticEvaluator(g -> -g.level(0) - 0.5 * g.level(4), 0.1);
        SearchState state = new EvolutionarySearch(domain, SearchPreset.quantization().withOffspring(16),
            new CalibrationPool(128, 1024), 7).initialize(evaluator);
        assertEquals(1, evaluator.calls.size());
        SyntheticEvaluator.Call call = evaluator.calls.get(0);
        assertEquals(64, call.candidates().size());
        assertEquals(2048, call.batch().tokens());
        assertEquals(java.util.Arrays.stream(call.scores()).min().orElseThrow(), state.parentFitness(), 0);
        assertTrue(domain.withinBudget(state.parent()));
        assertEquals(3, state.parent().level(0), "the best of 64 keeps the layer the fitness rewards at 3 bits");
    }

    @Test
    void depthSwitchesKeepExactlyKDroppedOfEachType() {
        DepthDomain domain = DepthDomain.halves(16, 6);
        SplittableRandom random = new SplittableRandom(4);
        Genome g = domain.random(random);
        assertTrue(domain.withinBudget(g));
        int attention = 0;
        int trials = 20_000;
        for (int i = 0; i < trials; i++) {
            Genome next = domain.mutate(g, random);
            assertEquals(2, changedUnits(g, next));
            assertTrue(domain.withinBudget(next), next::toString);
            int first = 0;
            while (next.level(first) == g.level(first)) {
                first++;
            }
            attention += first < 16 ? 1 : 0;
            g = next;
        }
        assertEquals(0.5, attention / (double) trials, 0.01);
        DepthDomain blocks = DepthDomain.forSparsity(16, 0.4, true);
        assertEquals(6, blocks.dropped());
        assertEquals(8008, blocks.configurations());
        assertEquals(8008.0 * 8008, domain.configurations());
        Genome b = blocks.random(random);
        for (int i = 0; i < 2000; i++) {
            b = blocks.mutate(b, random);
            assertTrue(blocks.withinBudget(b));
        }
        assertFalse(blocks.withinBudget(new Genome(new int[16])));
        assertNotEquals(domain.unitName(0), domain.unitName(16));
    }
}
