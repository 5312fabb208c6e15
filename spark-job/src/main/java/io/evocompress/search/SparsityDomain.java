package io.evocompress.search;

import io.evocompress.EvocompressException;
import io.evocompress.database.SparsityGrid;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.random.RandomGenerator;

/**
 * Unstructured sparsity (ALGORITHMS.md section 3): one unit per linear layer, levels are the
 * database's integer offsets around the target ({@link SparsityGrid}), each step the same absolute
 * number of zeros. A switch moves one layer up one level and another down one, so the sum of levels,
 * and with it the model's total number of zeros, stays exactly that of the all-zero start.
 */
public final class SparsityDomain implements SearchDomain {
    private final List<LinearUnit> units;
    private final int[][] levels; // (unit, ascending contiguous levels, 0 among them)

    /** {@code levels.get(i)}: the levels unit i has in the database, contiguous integers including 0. */
    public SparsityDomain(List<LinearUnit> units, List<List<Integer>> levels) {
        if (units.isEmpty() || units.size() != levels.size()) {
            throw new EvocompressException("sparsity domain needs one level list per unit, but got " + units.size()
                + " units and " + levels.size() + " level lists");
        }
        this.units = List.copyOf(units);
        this.levels = new int[units.size()][];
        for (int i = 0; i < units.size(); i++) {
            int[] l = levels.get(i).stream().mapToInt(Integer::intValue).sorted().toArray();
            if (Arrays.binarySearch(l, 0) < 0 || l[l.length - 1] - l[0] != l.length - 1) {
                throw new EvocompressException("unit " + units.get(i).name() + " must have contiguous levels including 0, but had "
                    + Arrays.toString(l) + ": rebuild the database with the target sparsity of this search");
            }
            this.levels[i] = l;
        }
    }

    /** The levels the grid allows for each unit's size (levels whose sparsity leaves (0, 1) absent). */
    public static SparsityDomain fromGrid(List<LinearUnit> units, SparsityGrid grid) {
        List<List<Integer>> levels = new ArrayList<>();
        for (LinearUnit u : units) {
            levels.add(grid.levels(u.numel()));
        }
        return new SparsityDomain(units, levels);
    }

    public List<LinearUnit> linearUnits() {
        return units;
    }

    @Override
    public int units() {
        return units.size();
    }

    @Override
    public String unitName(int unit) {
        return units.get(unit).name();
    }

    @Override
    public int[] levels(int unit) {
        return levels[unit].clone();
    }

    private boolean legal(int unit, int level) {
        int[] l = levels[unit];
        return level >= l[0] && level <= l[l.length - 1];
    }

    @Override
    public Optional<Genome> fixedStart() {
        return Optional.of(new Genome(new int[units()]));
    }

    /** A random walk of 4 switches per unit from the all-zero start. */
    @Override
    public Genome random(RandomGenerator random) {
        return randomWalk(fixedStart().orElseThrow(), random);
    }

    @Override
    public Genome mutate(Genome genome, RandomGenerator random) {
        int[] all = java.util.stream.IntStream.range(0, units()).toArray();
        Genome next = LevelSwitch.apply(genome, all, u -> legal(u, genome.level(u) + 1), u -> legal(u, genome.level(u) - 1), random);
        return next == null ? genome : next;
    }

    @Override
    public boolean withinBudget(Genome genome) {
        if (genome.size() != units()) {
            return false;
        }
        long sum = 0;
        for (int u = 0; u < units(); u++) {
            if (!legal(u, genome.level(u))) {
                return false;
            }
            sum += genome.level(u);
        }
        return sum == 0;
    }

    @Override
    public String toString() {
        return "sparsity domain of " + units() + " layers";
    }
}
