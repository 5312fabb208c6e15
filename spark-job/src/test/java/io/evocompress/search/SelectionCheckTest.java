package io.evocompress.search;

import io.evocompress.EvocompressException;
import org.junit.jupiter.api.Test;

import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.function.ToDoubleFunction;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** search.selection-check: observing every stage's choice on a second minibatch changes nothing and counts right. */
class SelectionCheckTest {
    private static final CalibrationPool POOL = new CalibrationPool(16, 64);
    /** Stands for the job's pool of tokens outside the first one's windows. */
    private static final CalibrationPool SECOND = new CalibrationPool(8, 64);
    private static final SearchPreset PRESET = new SearchPreset(12, 8, SelectionStage.parseList("2@64,1@256"), 1, 64);
    private static final SparsityDomain DOMAIN = new SparsityDomain(DomainBudgetTest.llamaUnits().subList(0, 6),
        Collections.nCopies(6, List.of(-2, -1, 0, 1, 2)));
    /** The true fitness: distinct weights per unit, so few genomes tie. */
    private static final ToDoubleFunction<Genome> TRUTH = g -> IntStream.range(0, g.size())
        .mapToDouble(u -> (u + 1) * Math.abs(g.level(u) - 0.3)).sum();

    @Test
    void theObservedSearchEndsAsTheUnobservedOneAndEveryWrongChoiceIsCounted() {
        SearchResult plain = new EvolutionarySearch(DOMAIN, PRESET, POOL, 5).run(new SyntheticEvaluator(TRUTH, 40.0));
        SyntheticEvaluator first = new SyntheticEvaluator(TRUTH, 40.0);
        SyntheticEvaluator second = new SyntheticEvaluator(TRUTH, 0);   // the second scores are the truth here
        SelectionCheck check = new SelectionCheck(SECOND, second, PRESET.stages());
        SearchResult observed = new EvolutionarySearch(DOMAIN, PRESET, POOL, 5).withSelectionCheck(check).run(first);
        assertEquals(plain, observed, "the check only observes");

        long[] wrong = new long[2];
        for (int g = 0; g < 12; g++) {
            for (int s = 0; s < 2; s++) {
                SyntheticEvaluator.Call stage = first.calls.get(1 + 2 * g + s);
                SyntheticEvaluator.Call again = second.calls.get(2 * g + s);
                assertEquals(stage.candidates(), again.candidates(), "the same candidates, scored again");
                assertEquals(PRESET.stages().get(s).tokens(), again.batch().tokens(), "a second minibatch of the same size");
                List<Integer> byScore = IntStream.range(0, stage.scores().length).boxed()
                    .sorted(Comparator.<Integer>comparingDouble(i -> stage.scores()[i]).thenComparingInt(i -> i)).toList();
                int survivors = PRESET.stages().get(s).survivors();
                for (int k : byScore.subList(0, survivors)) {
                    for (int d : byScore.subList(survivors, byScore.size())) {
                        wrong[s] += TRUTH.applyAsDouble(stage.candidates().get(k)) > TRUTH.applyAsDouble(stage.candidates().get(d)) ? 1 : 0;
                    }
                }
            }
        }
        List<SelectionCheck.StageTally> tallies = check.tallies();
        // stage 1 keeps 2 of 8 offspring: 2 x 6 pairs; stage 2 keeps 1 of those 2 and the parent: 1 x 2 pairs
        assertEquals(List.of(12L, 12L), tallies.stream().map(SelectionCheck.StageTally::decisions).toList());
        assertEquals(List.of(12L * 12, 12L * 2), tallies.stream().map(SelectionCheck.StageTally::choices).toList());
        assertEquals(List.of(wrong[0], wrong[1]), tallies.stream().map(SelectionCheck.StageTally::wrong).toList());
        assertTrue(wrong[0] > 0, "64 noisy tokens must choose wrong sometimes");
        assertEquals((double) wrong[0] / (12 * 12), tallies.get(0).wrongRate(), 0);
    }

    @Test
    void noiselessSelectionIsNeverWrong() {
        SelectionCheck check = new SelectionCheck(SECOND, new SyntheticEvaluator(TRUTH, 0), PRESET.stages());
        new EvolutionarySearch(DOMAIN, PRESET, POOL, 5).withSelectionCheck(check).run(new SyntheticEvaluator(TRUTH, 0));
        for (SelectionCheck.StageTally t : check.tallies()) {
            assertEquals(0, t.wrong(), t.toString());
            assertEquals(0, t.bestMissed(), t.toString());
            assertTrue(t.choices() > 0, t.toString());
        }
    }

    @Test
    void aStageTooLargeForTheSecondPoolFailsNamingIt() {
        String message = assertThrows(EvocompressException.class, () -> new SelectionCheck(new CalibrationPool(2, 64),
            new SyntheticEvaluator(TRUTH, 0), PRESET.stages())).getMessage();
        assertTrue(message.contains("stage 2 (1@256) needs 256 tokens, but its pool holds 2 x 64 = 128"), message);
        SelectionCheck other = new SelectionCheck(SECOND, new SyntheticEvaluator(TRUTH, 0), SelectionStage.parseList("1@64"));
        assertThrows(IllegalArgumentException.class, () -> new EvolutionarySearch(DOMAIN, PRESET, POOL, 5).withSelectionCheck(other));
    }
}
