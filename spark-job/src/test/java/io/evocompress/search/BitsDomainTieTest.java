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

/** {@code domain.tie: [qkv, gate_up]}: tied layers move together and the total bits stay exact. */
class BitsDomainTieTest {
    /** stories260K's linear layers: q, o 64x64; k, v 32x64; gate, up 172x64; down 64x172; 5 blocks. */
    static List<LinearUnit> stories() {
        List<LinearUnit> units = new ArrayList<>();
        for (int b = 0; b < 5; b++) {
            String p = "model.layers." + b + ".";
            units.add(new LinearUnit(p + "self_attn.q_proj", 64 * 64));
            units.add(new LinearUnit(p + "self_attn.k_proj", 32 * 64));
            units.add(new LinearUnit(p + "self_attn.v_proj", 32 * 64));
            units.add(new LinearUnit(p + "self_attn.o_proj", 64 * 64));
            units.add(new LinearUnit(p + "mlp.gate_proj", 172 * 64));
            units.add(new LinearUnit(p + "mlp.up_proj", 172 * 64));
            units.add(new LinearUnit(p + "mlp.down_proj", 64 * 172));
        }
        return units;
    }

    private static void assertTied(Genome g) {
        for (int b = 0; b < 5; b++) {
            int base = 7 * b;
            assertEquals(g.level(base), g.level(base + 1), "q = k in block " + b + ": " + g);
            assertEquals(g.level(base), g.level(base + 2), "q = v in block " + b + ": " + g);
            assertEquals(g.level(base + 4), g.level(base + 5), "gate = up in block " + b + ": " + g);
        }
    }

    /** How many bits above 3 the five sets starting at unit {@code first} of each block hold together. */
    private static long groupShift(Genome g, int first) {
        long shift = 0;
        for (int b = 0; b < 5; b++) {
            shift += g.level(7 * b + first) - 3;
        }
        return shift;
    }

    @Test
    void mutationsKeepTiedLayersEqualTradeAcrossSizesAndStayWithinBudget() {
        BitsDomain d = new BitsDomain(stories(), 3, 2, 6, List.of("qkv", "gate_up"));
        Genome g = d.fixedStart().orElseThrow();
        long budget = d.totalBits(g);
        assertEquals(3L * stories().stream().mapToLong(LinearUnit::numel).sum(), budget);
        assertEquals(budget, d.budgetBits());
        long largestSet = 2 * 172 * 64; // gate/up
        assertEquals(largestSet, d.largestMove());
        SplittableRandom rnd = new SplittableRandom(3);
        boolean qkvMoved = false;
        boolean differentWidths = false;
        boolean acrossSizes = false;
        for (int i = 0; i < 2000; i++) {
            g = d.mutate(g, rnd);
            assertTied(g);
            long total = d.totalBits(g);
            assertTrue(total <= budget && total > budget - largestSet, "within budget, and less than one set short of it, after "
                + i + " mutations: " + total + " of " + budget);
            assertTrue(d.withinBudget(g));
            qkvMoved |= g.level(0) != 3;
            differentWidths |= g.level(0) != g.level(3);
            // a size group whose sets no longer average 3 bits gave bits to (or took them from) another size
            acrossSizes |= groupShift(g, 0) != 0 || groupShift(g, 3) != 0 || groupShift(g, 4) != 0;
        }
        assertTrue(qkvMoved && differentWidths, "the tied sets do move: " + g);
        assertTrue(acrossSizes, "a tied domain trades bits between sets of different sizes");
        // untied, the same walk soon gives q, k and v different widths, which the tied domain refuses
        BitsDomain untied = new BitsDomain(stories(), 3, 2, 6);
        Genome u = untied.fixedStart().orElseThrow();
        boolean split = false;
        for (int i = 0; i < 2000 && !split; i++) {
            u = untied.mutate(u, rnd);
            split = u.level(0) != u.level(1) || u.level(0) != u.level(2);
        }
        assertTrue(split);
        assertTrue(untied.withinBudget(u));
        assertEquals(budget, untied.totalBits(u), "untied, the paper's switches keep the total exact");
        // ties that match no layer (Phi-3's fused qkv_proj and gate_up_proj) search as untied: exact switches
        List<LinearUnit> fused = stories().stream().map(l -> new LinearUnit(l.name()
            .replaceAll("\\.(q|k|v)_proj$", ".qkv_proj").replaceAll("\\.(gate|up)_proj$", ".gate_up_proj"), l.numel())).toList();
        BitsDomain unmatched = new BitsDomain(fused, 3, 2, 6, List.of("qkv", "gate_up"));
        Genome f = unmatched.fixedStart().orElseThrow();
        for (int i = 0; i < 500; i++) {
            f = unmatched.mutate(f, rnd);
            assertEquals(budget, unmatched.totalBits(f), "ties matching no layer: exact after " + i + " switches");
        }
        assertFalse(d.withinBudget(u), "a profile with split q/k/v is not a genome of the tied domain");
    }

    /**
     * Quantization error ~ 4^-bits per layer, q/k/v and gate/up 100 times as sensitive as o and down, the
     * same in every block: a same-size switch between blocks only ever loses (a set's step down costs four
     * times what its step up gains), so only a trade across sizes (a q/k/v set up, two o projections down;
     * gate/up up, two down projections down) can improve on uniform.
     */
    private static double sensitivity(Genome g) {
        double f = 0;
        for (int u = 0; u < g.size(); u++) {
            int kind = u % 7;
            double w = kind == 3 || kind == 6 ? 1 : 100;
            f += w * Math.pow(4, -g.level(u));
        }
        return f;
    }

    @Test
    void tiedSearchLeavesTheUniformStartWhereOnlyTradesAcrossSizesImprove() {
        BitsDomain d = new BitsDomain(stories(), 3, 2, 6, List.of("qkv", "gate_up"));
        Genome uniform = d.fixedStart().orElseThrow();
        Genome oneSwitch = uniform.with(0, 4).with(1, 4).with(2, 4).with(7, 2).with(8, 2).with(9, 2);
        assertTrue(d.withinBudget(oneSwitch) && sensitivity(oneSwitch) > sensitivity(uniform), "a same-size switch loses");
        SearchResult r = new EvolutionarySearch(d, SearchPreset.fast().withGenerations(30), new CalibrationPool(64, 128), 4)
            .run(new SyntheticEvaluator(BitsDomainTieTest::sensitivity, 0.01));
        assertTrue(d.withinBudget(r.best()), r.best().toString());
        assertTrue(sensitivity(r.best()) < 0.8 * sensitivity(uniform),
            "the search leaves uniform (" + sensitivity(uniform) + "): " + sensitivity(r.best()) + " at " + r.best());
    }

    @Test
    void nonIntegerTargetsStartTiedAndWithinBudget() {
        BitsDomain d = new BitsDomain(stories(), 2.5, 2, 6, List.of("gate_up"));
        SplittableRandom rnd = new SplittableRandom(9);
        for (int i = 0; i < 50; i++) {
            Genome g = d.random(rnd);
            assertTrue(d.withinBudget(g), g.toString());
            for (int b = 0; b < 5; b++) {
                assertEquals(g.level(7 * b + 4), g.level(7 * b + 5));
            }
        }
        assertThrows(EvocompressException.class, () -> new BitsDomain(stories(), 3, 2, 6, List.of("qk")));
    }
}
