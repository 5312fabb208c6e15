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

    @Test
    void mutationsKeepTiedLayersEqualAndTheTotalBitsExact() {
        BitsDomain d = new BitsDomain(stories(), 3, 2, 6, List.of("qkv", "gate_up"));
        Genome g = d.fixedStart().orElseThrow();
        long total = d.totalBits(g);
        assertEquals(3L * stories().stream().mapToLong(LinearUnit::numel).sum(), total);
        SplittableRandom rnd = new SplittableRandom(3);
        boolean qkvMoved = false;
        boolean differentWidths = false;
        for (int i = 0; i < 2000; i++) {
            g = d.mutate(g, rnd);
            assertTied(g);
            assertEquals(total, d.totalBits(g), "exact total after " + i + " switches");
            assertTrue(d.withinBudget(g));
            qkvMoved |= g.level(0) != 3;
            differentWidths |= g.level(0) != g.level(3);
        }
        assertTrue(qkvMoved && differentWidths, "the tied sets do move: " + g);
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
        assertFalse(d.withinBudget(u), "a profile with split q/k/v is not a genome of the tied domain");
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
