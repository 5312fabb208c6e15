package io.evocompress.schedule;

import io.evocompress.EvocompressException;
import io.evocompress.database.SparsityGrid;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SparsityScheduleTest {
    private static final SparsityRange PAPER = new SparsityRange(0.6, 0.8);

    @Test
    void twoLevelsMapOntoTheRangeAndShiftToTheTargetInClosedForm() {
        // low error -> 0.8, high error -> 0.6; base mean (0.8 * 100 + 0.6 * 300) / 400 = 0.65, shift +0.05
        List<LayerError> layers = List.of(new LayerError("a", 100, 0, 1e-4), new LayerError("b", 300, 1, 1e2));
        SparsitySchedule s = SparsitySchedule.plan(layers, 0.7, PAPER, ScheduleSettings.DEFAULTS.withClusters(2));
        assertEquals(0.05, s.shift(), 1e-12);
        assertEquals(0.85, s.units().get(0).sparsity(), 1e-12);
        assertEquals(0.65, s.units().get(1).sparsity(), 1e-12);
        assertEquals(85, s.units().get(0).zeros());
        assertEquals(195, s.units().get(1).zeros());
        assertEquals(280, s.totalZeros());
    }

    @Test
    void theWeightedMeanIsTheTargetExactlyToTheParameter() {
        SplittableRandom random = new SplittableRandom(5);
        for (int trial = 0; trial < 100; trial++) {
            List<LayerError> layers = randomLayers(random, 2 + random.nextInt(40), 8);
            double target = random.nextDouble(0.3, 0.9);
            SparsitySchedule s = SparsitySchedule.plan(layers, target,
                SparsityRange.around(target, random.nextDouble(0, 0.4), 0.99),
                ScheduleSettings.DEFAULTS.withClusters(1 + random.nextInt(8)));
            long total = layers.stream().mapToLong(LayerError::parameters).sum();
            assertEquals(Math.round(target * total), s.totalZeros(), "trial " + trial);
            for (UnitSparsity u : s.units()) {
                assertTrue(u.zeros() >= 0 && u.zeros() <= Math.floor(0.99 * u.parameters()), u.toString());
                // the integer count is within one weight of the continuous sparsity
                assertTrue(Math.abs(u.zeros() - u.sparsity() * u.parameters()) < 1 + 1e-9, u.toString());
            }
        }
    }

    @Test
    void higherErrorNeverGetsHigherSparsity() {
        SplittableRandom random = new SplittableRandom(6);
        for (int trial = 0; trial < 50; trial++) {
            List<LayerError> layers = randomLayers(random, 30, 8);
            SparsitySchedule s = SparsitySchedule.plan(layers, 0.7, new SparsityRange(0.5, 0.9),
                ScheduleSettings.DEFAULTS.withClusters(6));
            for (UnitSparsity a : s.units()) {
                for (UnitSparsity b : s.units()) {
                    if (a.error() > b.error()) {
                        assertTrue(a.sparsity() <= b.sparsity(), a + " vs " + b);
                        assertTrue(a.level() >= b.level(), a + " vs " + b);
                        // after rounding, up to one weight each
                        assertTrue(a.exactSparsity() <= b.exactSparsity() + 1.0 / a.parameters() + 1.0 / b.parameters());
                    }
                }
            }
            // the levels do span the range before the shift: max - min scheduled sparsity = 0.4
            double max = s.units().stream().mapToDouble(UnitSparsity::sparsity).max().orElseThrow();
            double min = s.units().stream().mapToDouble(UnitSparsity::sparsity).min().orElseThrow();
            assertEquals(0.4, max - min, 1e-12);
        }
    }

    @Test
    void aClampedUnitPassesItsRemainderToTheOthers() {
        // base 0.99 and 0.8, mean 0.895, shift 0.005: the first clamps at the cap 0.95, so the second takes 0.85
        List<LayerError> layers = List.of(new LayerError("a", 1000, 0, 1e-6), new LayerError("b", 1000, 1, 1));
        ScheduleSettings settings = new ScheduleSettings(2, 0.95, Granularity.LAYER, 0);
        SparsitySchedule s = SparsitySchedule.plan(layers, 0.9, new SparsityRange(0.8, 0.99), settings);
        assertEquals(950, s.units().get(0).zeros());
        assertEquals(850, s.units().get(1).zeros());
        assertEquals(0.95, s.units().get(0).sparsity(), 0);
        assertEquals(0.85, s.units().get(1).sparsity(), 1e-12);
    }

    @Test
    void integerRemaindersGoToTheLargestFractions() {
        // three units of 10 weights at target 0.55: ideal 5.5 each, 16.5 -> 17 zeros; the first in order gets two extra
        List<LayerError> layers = List.of(new LayerError("a", 10, 0, 1), new LayerError("b", 10, 1, 1),
            new LayerError("c", 10, 2, 1));
        SparsitySchedule s = SparsitySchedule.plan(layers, 0.55, PAPER, ScheduleSettings.DEFAULTS);
        assertEquals(List.of(6L, 6L, 5L), s.units().stream().map(UnitSparsity::zeros).toList());
    }

    @Test
    void unreachableTargetsAreRefused() {
        List<LayerError> tiny = List.of(new LayerError("a", 3, 0, 1), new LayerError("b", 3, 1, 2));
        ScheduleSettings settings = new ScheduleSettings(2, 0.9, Granularity.LAYER, 0);
        // round(0.8 * 6) = 5 zeros, but the cap allows floor(2.7) = 2 per unit
        EvocompressException e = assertThrows(EvocompressException.class,
            () -> SparsitySchedule.plan(tiny, 0.8, PAPER, settings));
        assertTrue(e.getMessage().contains("cap"), e.getMessage());
        assertThrows(EvocompressException.class, () -> SparsitySchedule.plan(tiny, 0.95, PAPER, settings));
        assertThrows(EvocompressException.class, () -> SparsitySchedule.plan(tiny, 0, PAPER, settings));
    }

    @Test
    void perBlockLayersShareTheirBlocksSparsity() {
        SplittableRandom random = new SplittableRandom(8);
        List<LayerError> layers = new ArrayList<>();
        for (int b = 0; b < 6; b++) {
            for (String name : new String[] {"q", "k", "v", "o", "gate", "up", "down"}) {
                layers.add(new LayerError("b" + b + "." + name, 1000 + random.nextInt(5000), b,
                    Math.pow(10, random.nextDouble(-3, 1))));
            }
        }
        SparsitySchedule s = SparsitySchedule.plan(layers, 0.7, PAPER,
            ScheduleSettings.DEFAULTS.withClusters(3).withGranularity(Granularity.BLOCK));
        long total = layers.stream().mapToLong(LayerError::parameters).sum();
        assertEquals(Math.round(0.7 * total), s.totalZeros());
        double[] blockError = new double[6];
        double[] blockSparsity = new double[6];
        for (UnitSparsity u : s.units()) {
            blockError[u.block()] += u.error();
            blockSparsity[u.block()] = u.sparsity();
        }
        for (UnitSparsity u : s.units()) {
            assertEquals(blockSparsity[u.block()], u.sparsity(), 0, u.unit());
            assertTrue(Math.abs(u.exactSparsity() - u.sparsity()) <= 7.0 / u.parameters(), u.toString());
        }
        for (int a = 0; a < 6; a++) {
            for (int b = 0; b < 6; b++) {
                if (blockError[a] > blockError[b]) {
                    assertTrue(blockSparsity[a] <= blockSparsity[b], "block " + a + " vs " + b);
                }
            }
        }
        assertEquals(3, s.levels());
    }

    @Test
    void widthZeroIsTheUniformSchedule() {
        List<LayerError> layers = randomLayers(new SplittableRandom(9), 20, 8);
        SparsitySchedule s = SparsitySchedule.plan(layers, 0.6, SparsityRange.around(0.6, 0, 0.99),
            ScheduleSettings.DEFAULTS);
        for (UnitSparsity u : s.units()) {
            assertEquals(0.6, u.sparsity(), 1e-12);
            assertTrue(Math.abs(u.zeros() - 0.6 * u.parameters()) < 1, u.toString());
        }
    }

    @Test
    void gridLevelsSumToZeroAndStayWithinOneOfTheIdeal() {
        SplittableRandom random = new SplittableRandom(10);
        for (int trial = 0; trial < 30; trial++) {
            List<LayerError> layers = randomLayers(random, 5 + random.nextInt(50), 4);
            SparsitySchedule s = SparsitySchedule.plan(layers, 0.6, new SparsityRange(0.5, 0.7),
                ScheduleSettings.DEFAULTS.withClusters(4));
            // hidden 128: Delta = 409, no unit's ideal leaves [-8, 8]; hidden 64: Delta = 102, large units clamp
            boolean fits = trial % 2 == 0;
            SparsityGrid grid = SparsityGrid.withDefaultStep(0.6, 8, fits ? 128 : 64);
            int[] levels = s.toGridLevels(grid);
            assertEquals(0, java.util.Arrays.stream(levels).sum(), "trial " + trial);
            long gridZeros = 0;
            long uniformZeros = 0;
            for (int u = 0; u < levels.length; u++) {
                UnitSparsity unit = s.units().get(u);
                List<Integer> legal = grid.levels(unit.parameters());
                assertTrue(legal.contains(levels[u]), "illegal level " + levels[u] + " for " + unit);
                double ideal = (unit.zeros() - grid.baseZeros(unit.parameters())) / (double) grid.delta();
                if (fits) {
                    assertTrue(Math.abs(levels[u] - ideal) < 1, unit + ": level " + levels[u] + " ideal " + ideal);
                }
                gridZeros += grid.zeros(unit.parameters(), levels[u]);
                uniformZeros += grid.baseZeros(unit.parameters());
            }
            assertEquals(uniformZeros, gridZeros);
        }
    }

    @Test
    void gridLevelsInClosedForm() {
        // Delta = 10; ideals +0.6, +0.6, -1.2 round to 1, 1, -1 (sum 1): the unit rounded up most (first) moves down
        SparsityGrid grid = new SparsityGrid(0.5, 3, 10);
        int[] levels = GridLevels.nearest(grid, new long[] {100, 100, 100}, new long[] {56, 56, 38});
        assertEquals(List.of(0, 1, -1), java.util.Arrays.stream(levels).boxed().toList());
    }

    static List<LayerError> randomLayers(SplittableRandom random, int count, int blocks) {
        List<LayerError> layers = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            layers.add(new LayerError("layer" + i, 500 + random.nextInt(20000), i % blocks,
                Math.pow(10, random.nextDouble(-4, 2))));
        }
        return layers;
    }
}
