package io.evocompress.schedule;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;

class RangeChoiceTest {

    @Test
    void autoRangePicksTheMinimumOfAKnownScore() {
        List<LayerError> layers = SparsityScheduleTest.randomLayers(new SplittableRandom(3), 40, 8);
        // score: (spread of the scheduled sparsities - 0.12)^2, least among the defaults at width 0.1
        RangeChoice.Scorer scorer = s -> {
            double max = s.units().stream().mapToDouble(UnitSparsity::sparsity).max().orElseThrow();
            double min = s.units().stream().mapToDouble(UnitSparsity::sparsity).min().orElseThrow();
            return (max - min - 0.12) * (max - min - 0.12);
        };
        RangeChoice.Outcome out = RangeChoice.choose(layers, 0.7, ScheduleSettings.DEFAULTS, RangeChoice.DEFAULT_WIDTHS,
            scorer);
        assertEquals(0.1, out.best().width(), 0);
        assertEquals(0.65, out.best().range().min(), 1e-12);
        assertEquals(0.75, out.best().range().max(), 1e-12);
        assertEquals(RangeChoice.DEFAULT_WIDTHS.length, out.trials().size());
        for (int i = 0; i < RangeChoice.DEFAULT_WIDTHS.length; i++) {
            double w = RangeChoice.DEFAULT_WIDTHS[i];
            assertEquals(w, out.trials().get(i).width(), 0);
            assertEquals((w - 0.12) * (w - 0.12), out.trials().get(i).score(), 1e-12);
        }
        assertEquals(out.best().range(), out.schedule().range());
    }

    @Test
    void tiesKeepTheNarrowerRangeAndRangesClipAtTheCap() {
        List<LayerError> layers = SparsityScheduleTest.randomLayers(new SplittableRandom(4), 10, 2);
        RangeChoice.Outcome out = RangeChoice.choose(layers, 0.9, ScheduleSettings.DEFAULTS, new double[] {0.1, 0.3},
            s -> 1.0);
        assertEquals(0.1, out.best().width(), 0);
        assertEquals(0.99, out.trials().get(1).range().max(), 0);
        assertEquals(0.75, out.trials().get(1).range().min(), 1e-12);
    }
}
