package io.evocompress.search;

import io.evocompress.EvocompressException;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MultiStepSelectionTest {
    private static final CalibrationPool POOL = new CalibrationPool(16, 64);

    private static String error(Runnable r) {
        return assertThrows(EvocompressException.class, r::run).getMessage();
    }

    @Test
    void stageListsAreValidatedWithClearErrors() {
        assertTrue(error(() -> new MultiStepSelection(SelectionStage.parseList("4@64,2@128"), POOL))
            .contains("last selection stage must keep exactly 1 survivor, but keeps 2"));
        assertTrue(error(() -> new MultiStepSelection(SelectionStage.parseList("2@64,4@128,1@256"), POOL))
            .contains("non-increasing number of survivors, but stage 2 keeps 4 after stage 1 kept 2"));
        assertTrue(error(() -> new MultiStepSelection(SelectionStage.parseList("2@64,1@2048"), POOL))
            .contains("2048 tokens does not fit the calibration pool of 16 x 64 = 1024 tokens"));
        assertTrue(error(() -> new MultiStepSelection(List.of(), POOL)).contains("at least one stage"));
        assertTrue(error(() -> new MultiStepSelection(SelectionStage.parseList("8@64,1@128"), POOL).checkOffspring(4))
            .contains("keeps 8 survivors but a generation has only 4 offspring"));
        assertTrue(error(() -> SelectionStage.parse("8-2048")).contains("not survivors@tokens"));
        assertTrue(error(() -> SelectionStage.parse("0@2048")).contains("at least 1 survivor, but kept 0"));
        assertTrue(error(() -> new EvolutionarySearch(DepthDomain.wholeBlocks(6, 2), SearchPreset.depth(6, 2), POOL, 1))
            .contains("selection stage 1 (2@2048) of 2048 tokens does not fit"));
    }

    @Test
    void minibatchHasExactTokensFromDistinctSequences() {
        Minibatch b = POOL.draw(150, new SplittableRandom(1));
        assertArrayEquals(new int[] {64, 64, 22}, b.lengths());
        assertEquals(150, b.tokens());
        assertEquals(3, Arrays.stream(b.sequences()).distinct().count());
        Minibatch all = POOL.draw(1024, new SplittableRandom(2));
        assertArrayEquals(java.util.stream.IntStream.range(0, 16).toArray(), all.sequences());
        assertEquals(b, POOL.draw(150, new SplittableRandom(1)));
    }

    /** Per generation: stage 1 and 2 see only offspring, all distinct; the parent joins only the last stage. */
    @Test
    void parentReentersOnlyBeforeTheLastStage() {
        SparsityDomain domain = new SparsityDomain(DomainBudgetTest.llamaUnits().subList(0, 6),
            java.util.Collections.nCopies(6, List.of(-2, -1, 0, 1, 2)));
        // The parent is always the best candidate whenever it is scored: it must still not be in stages 1-2.
        SyntheticEvaluator evaluator = new SyntheticEvaluator(g -> Arrays.stream(g.levels()).map(Math::abs).sum(), 1.0);
        SearchPreset preset = new SearchPreset(5, 8, SelectionStage.parseList("4@64,2@128,1@256"), 1, 64);
        SearchResult result = new EvolutionarySearch(domain, preset, POOL, 3).run(evaluator);
        assertEquals(1 + 3 * 5, evaluator.calls.size());
        Genome parent = domain.fixedStart().orElseThrow();
        for (int gen = 0; gen < 5; gen++) {
            List<SyntheticEvaluator.Call> calls = evaluator.calls.subList(1 + 3 * gen, 4 + 3 * gen);
            assertEquals(List.of(8, 4, 3), calls.stream().map(c -> c.candidates().size()).toList());
            assertEquals(List.of(64L, 128L, 256L), calls.stream().map(c -> c.batch().tokens()).toList());
            assertEquals(8, new HashSet<>(calls.get(0).candidates()).size(), "no candidate scored twice in a stage");
            assertFalse(calls.get(0).candidates().contains(parent));
            assertFalse(calls.get(1).candidates().contains(parent));
            assertEquals(parent, calls.get(2).candidates().get(2));
            assertTrue(calls.get(0).candidates().containsAll(calls.get(1).candidates()), "stage 2 scores stage 1's survivors");
            double[] last = calls.get(2).scores();
            int winner = last[0] <= last[1] && last[0] <= last[2] ? 0 : last[1] <= last[2] ? 1 : 2;
            parent = calls.get(2).candidates().get(winner);
            assertEquals(last[winner], result.history().get(gen + 1).fitness(), 0, "history records the final-stage score");
        }
        assertEquals(parent, result.best());
        assertEquals(new Genome(new int[6]), result.best(), "with the parent always best the start must survive");
    }

    @Test
    void aSingleStageScoresTheParentWithTheOffspring() {
        DepthDomain domain = DepthDomain.wholeBlocks(6, 2);
        SyntheticEvaluator evaluator = new SyntheticEvaluator(g -> g.level(0), 0);
        new MultiStepSelection(SelectionStage.parseList("1@100"), POOL)
            .select(new Genome(new int[] {1, 1, 0, 0, 0, 0}), new Mutation(domain).offspring(new Genome(new int[] {1, 1, 0, 0, 0, 0}), 4,
                new SplittableRandom(1)), evaluator, 1, 1);
        assertEquals(1, evaluator.calls.size());
        assertEquals(5, evaluator.calls.get(0).candidates().size());
        assertEquals(new Genome(new int[] {1, 1, 0, 0, 0, 0}), evaluator.calls.get(0).candidates().get(4));
    }
}
