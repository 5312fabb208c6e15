package io.evocompress.evopress;

import io.evocompress.search.Genome;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

/** search.init: best never returns a profile whose final KL is worse than a start it could have taken. */
class ResultChoiceTest {
    private static SearchJob.Measured m(String name, double kl, int level) {
        return new SearchJob.Measured(name, new Genome(new int[]{level, -level}), kl, 10 + kl);
    }

    @Test
    void aStartWithLowerFinalKlReplacesTheSearchWinner() {
        List<SearchJob.Measured> measured = List.of(m("result", 0.30, 1), m("uniform", 0.35, 0), m("owl", 0.25, 2),
            m("scheduler", 0.28, 3), m("random", 0.10, 4));
        SearchJob.ResultChoice c = SearchJob.noWorseThanStarts(measured, List.of("uniform", "owl", "scheduler"));
        assertEquals("owl", c.source(), "the lowest-KL start; 'random' is a baseline, not a start");
        assertEquals("result", c.result().name());
        assertEquals(0.25, c.result().kl());
        assertEquals(10.25, c.result().perplexity());
        assertEquals(measured.get(2).genome(), c.result().genome());
    }

    @Test
    void theSearchWinnerStaysWhenNoStartBeatsItOrInitIsNotBest() {
        List<SearchJob.Measured> measured = List.of(m("result", 0.25, 1), m("uniform", 0.25, 0), m("owl", 0.30, 2));
        SearchJob.ResultChoice tie = SearchJob.noWorseThanStarts(measured, List.of("uniform", "owl"));
        assertEquals("search", tie.source(), "ties keep the search's winner");
        assertSame(measured.get(0), tie.result());
        List<SearchJob.Measured> worse = List.of(m("result", 0.40, 1), m("uniform", 0.25, 0));
        assertEquals("search", SearchJob.noWorseThanStarts(worse, List.of()).source(), "init: uniform keeps the search's winner");
    }
}
