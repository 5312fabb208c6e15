package io.evocompress.search;

import io.evocompress.database.SparsityGrid;
import io.evocompress.fitness.CandidateSpec;
import io.evocompress.fitness.GenomeDecoder;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.ToLongFunction;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What every search domain promises, checked on each of them: the initial genome and random genomes
 * are legal and on budget; mutation keeps the budget exact (the domain's own quantity: total zeros,
 * total bits, dropped halves, structured level sums) and every level legal; random genomes are legal (and,
 * where the domain has a fixed start, on its budget); the decoder the domain
 * hands to executors has its length, names what {@link SearchDomain#unitName} names, and inverts
 * exactly ({@code encode(decode(g)) == g}); the profile text parses back to the genome.
 */
class SearchDomainContractTest {
    private static final SparsityGrid GRID = SparsityGrid.withDefaultStep(0.7, 8, 128);

    static Stream<Arguments> domains() {
        List<LinearUnit> units = DomainBudgetTest.llamaUnits();
        SparsityDomain sparsity = SparsityDomain.fromGrid(units, GRID);
        ToLongFunction<Genome> zeros = g -> {
            long z = 0;
            for (int u = 0; u < units.size(); u++) {
                z += GRID.zeros(units.get(u).numel(), g.level(u));
            }
            return z;
        };
        BitsDomain bits = new BitsDomain(units, 4);
        BitsDomain fractional = new BitsDomain(units.subList(0, 14), 3.5, 2, 6);
        BitsDomain tied = new BitsDomain(units.subList(0, 14), 3, 2, 4, List.of("qkv", "gate_up"));
        DepthDomain halves = DepthDomain.halves(6, 2);
        DepthDomain whole = DepthDomain.wholeBlocks(6, 2).withBlockStem("transformer.h");
        List<String> names = new ArrayList<>();
        List<List<Integer>> levels = new ArrayList<>();
        for (String half : List.of("self_attn", "mlp")) {
            for (int b = 0; b < 4; b++) {
                names.add("model.layers." + b + "." + half);
                levels.add(List.of(-2, -1, 0, 1, 2));
            }
        }
        DarwinDomain darwin = new DarwinDomain(names, levels);
        ToLongFunction<Genome> darwinSums = g -> {
            long a = 0;
            long m = 0;
            for (int u = 0; u < g.size(); u++) {
                if (u < darwin.blocks()) {
                    a += g.level(u);
                } else {
                    m += g.level(u);
                }
            }
            return a * 1_000_003L + m;
        };
        Genome walked = sparsity.randomWalk(sparsity.fixedStart().orElseThrow(), new SplittableRandom(9));
        return Stream.of(
            Arguments.of("sparsity", sparsity, zeros),
            Arguments.of("bits 4", bits, (ToLongFunction<Genome>) bits::totalBits),
            Arguments.of("bits 3.5 (random start)", fractional, (ToLongFunction<Genome>) fractional::totalBits),
            // tied, trades across sizes keep the total within budget and less than the largest set short of it
            Arguments.of("bits 3 tied qkv, gate_up", tied,
                (ToLongFunction<Genome>) g -> Math.floorDiv(tied.budgetBits() - tied.totalBits(g), tied.largestMove())),
            Arguments.of("depth halves", halves, (ToLongFunction<Genome>) SearchDomainContractTest::dropped),
            Arguments.of("depth whole blocks", whole, (ToLongFunction<Genome>) SearchDomainContractTest::dropped),
            Arguments.of("darwin", darwin, darwinSums),
            Arguments.of("fixed start (sparsity)", new FixedStartDomain(sparsity, walked), zeros));
    }

    private static long dropped(Genome g) {
        long n = 0;
        for (int u = 0; u < g.size(); u++) {
            n += g.level(u);
        }
        return n;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("domains")
    void keepsItsContract(String name, SearchDomain domain, ToLongFunction<Genome> budget) {
        SplittableRandom random = new SplittableRandom(name.hashCode());
        Genome start = domain.fixedStart().orElseGet(() -> domain.random(random));
        assertLegal(domain, start, name + " start");
        long expected = budget.applyAsLong(start);
        for (int i = 0; i < 3; i++) {
            Genome r = domain.random(random);
            assertLegal(domain, r, name + " random genome");
            if (domain.fixedStart().isPresent()) {
                assertEquals(expected, budget.applyAsLong(r), name + ": a random genome's budget");
            }
        }
        GenomeDecoder decoder = domain.decoder();
        assertEquals(domain.units(), decoder.units(), name + ": decoder length");
        Genome g = start;
        int changed = 0;
        for (int i = 0; i < 2000; i++) {
            Genome next = domain.mutate(g, random);
            assertLegal(domain, next, name + " after switch " + i);
            assertEquals(expected, budget.applyAsLong(next), name + ": budget after switch " + i);
            changed += next.equals(g) ? 0 : 1;
            g = next;
            if (i % 100 == 0) {
                checkDecoder(domain, decoder, g, name);
                assertEquals(g, Profile.parse(domain, domain.profile(g)), name + ": profile round trip");
            }
        }
        assertTrue(changed > 1000, name + ": mutation must move the genome (" + changed + " of 2000 switches did)");
    }

    private static void assertLegal(SearchDomain domain, Genome g, String what) {
        assertEquals(domain.units(), g.size(), what + ": length");
        for (int u = 0; u < g.size(); u++) {
            int[] legal = domain.levels(u);
            int level = g.level(u);
            assertTrue(java.util.Arrays.stream(legal).anyMatch(l -> l == level), what + ": unit " + u + " level " + level);
        }
        assertTrue(domain.withinBudget(g), what + " " + g);
    }

    private static void checkDecoder(SearchDomain domain, GenomeDecoder decoder, Genome g, String name) {
        int[] levels = new int[g.size()];
        for (int u = 0; u < levels.length; u++) {
            levels[u] = g.level(u);
        }
        CandidateSpec spec = decoder.decode(levels);
        assertArrayEquals(levels, decoder.encode(spec), name + ": encode(decode(g))");
        if (domain instanceof DepthDomain depth) {
            for (int b = 0; b < depth.blocks(); b++) {
                assertEquals(depth.attentionDropped(g, b), spec.skipsAttention(b), name + ": block " + b + " attention");
                assertEquals(depth.mlpDropped(g, b), spec.skipsMlp(b), name + ": block " + b + " MLP");
            }
        } else {
            for (int u = 0; u < levels.length; u++) {
                assertEquals(levels[u], spec.level(domain.unitName(u)), name + ": unit " + domain.unitName(u));
            }
        }
        for (int u = 0; u < levels.length; u++) {
            for (int l : domain.levels(u)) {
                if (l != levels[u]) {
                    int[] other = levels.clone();
                    other[u] = l;
                    assertNotEquals(spec, decoder.decode(other), name + ": unit " + u + " at level " + l + " decodes differently");
                    break;
                }
            }
        }
    }
}
