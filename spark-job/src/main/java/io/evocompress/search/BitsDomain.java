package io.evocompress.search;

import io.evocompress.EvocompressException;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.random.RandomGenerator;

/**
 * Quantization (ALGORITHMS.md section 3): a unit's level is its bit width (default 2..6). Units are
 * grouped by size (numel); a switch picks a group with probability proportional to its unit count,
 * among the groups where a switch exists, and moves one of its units up one bit and another down one,
 * so the total number of weight bits stays exactly constant. An integer target starts uniform; a
 * non-integer one (2.25, 2.5) starts from the best of several {@link #random} genomes, each every unit
 * at ceil(target) with random units lowered one bit at a time until the total bits, sum(numel * bits),
 * are at most target * sum(numel).
 */
public final class BitsDomain implements SearchDomain {
    public static final int DEFAULT_MIN_BITS = 2;
    public static final int DEFAULT_MAX_BITS = 6;

    private final List<LinearUnit> units;
    private final double target;
    private final int minBits;
    private final int maxBits;
    private final long budgetBits; // floor(target * total numel)
    private final int[][] groups;  // (group, unit indices of one numel), in order of first appearance

    public BitsDomain(List<LinearUnit> units, double targetBits) {
        this(units, targetBits, DEFAULT_MIN_BITS, DEFAULT_MAX_BITS);
    }

    public BitsDomain(List<LinearUnit> units, double targetBits, int minBits, int maxBits) {
        if (units.isEmpty()) {
            throw new EvocompressException("bits domain needs at least one unit");
        }
        if (minBits < 1 || maxBits < minBits) {
            throw new EvocompressException("bit widths must satisfy 1 <= min <= max, but were " + minBits + ".." + maxBits);
        }
        if (!(targetBits >= minBits && targetBits <= maxBits)) {
            throw new EvocompressException("target bits must lie in the level range " + minBits + ".." + maxBits + ", but was " + targetBits);
        }
        this.units = List.copyOf(units);
        this.target = targetBits;
        this.minBits = minBits;
        this.maxBits = maxBits;
        long numel = units.stream().mapToLong(LinearUnit::numel).sum();
        this.budgetBits = (long) Math.floor(targetBits * numel);
        Map<Long, List<Integer>> bySize = new LinkedHashMap<>();
        for (int i = 0; i < units.size(); i++) {
            bySize.computeIfAbsent(units.get(i).numel(), k -> new ArrayList<>()).add(i);
        }
        this.groups = bySize.values().stream().map(l -> l.stream().mapToInt(Integer::intValue).toArray()).toArray(int[][]::new);
    }

    public double targetBits() {
        return target;
    }

    public long budgetBits() {
        return budgetBits;
    }

    /** sum(numel * bits) over all units. */
    public long totalBits(Genome genome) {
        long total = 0;
        for (int u = 0; u < units.size(); u++) {
            total += units.get(u).numel() * genome.level(u);
        }
        return total;
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
        return java.util.stream.IntStream.rangeClosed(minBits, maxBits).toArray();
    }

    private boolean integerTarget() {
        return target == Math.rint(target);
    }

    @Override
    public Optional<Genome> fixedStart() {
        return integerTarget() ? Optional.of(uniform((int) target)) : Optional.empty();
    }

    private Genome uniform(int bits) {
        int[] levels = new int[units()];
        Arrays.fill(levels, bits);
        return new Genome(levels);
    }

    /**
     * Non-integer target: every unit at ceil(target), then random units (uniformly among those above
     * the minimum) lowered one bit until within budget. Integer target: a random walk of 4 switches per
     * unit from the uniform start.
     */
    @Override
    public Genome random(RandomGenerator random) {
        if (integerTarget()) {
            return randomWalk(uniform((int) target), random);
        }
        int[] levels = new int[units()];
        Arrays.fill(levels, (int) Math.ceil(target));
        long total = totalBits(new Genome(levels));
        List<Integer> lowerable = new ArrayList<>();
        while (total > budgetBits) {
            lowerable.clear();
            for (int u = 0; u < levels.length; u++) {
                if (levels[u] > minBits) {
                    lowerable.add(u);
                }
            }
            int u = lowerable.get(random.nextInt(lowerable.size())); // non-empty: all at minBits is <= target
            levels[u]--;
            total -= units.get(u).numel();
        }
        return new Genome(levels);
    }

    @Override
    public Genome mutate(Genome genome, RandomGenerator random) {
        java.util.function.IntPredicate canUp = u -> genome.level(u) < maxBits;
        java.util.function.IntPredicate canDown = u -> genome.level(u) > minBits;
        int[] weights = new int[groups.length];
        int sum = 0;
        for (int g = 0; g < groups.length; g++) {
            weights[g] = LevelSwitch.exists(genome, groups[g], canUp, canDown) ? groups[g].length : 0;
            sum += weights[g];
        }
        if (sum == 0) {
            return genome;
        }
        int pick = random.nextInt(sum);
        int g = 0;
        while (pick >= weights[g]) {
            pick -= weights[g++];
        }
        return LevelSwitch.apply(genome, groups[g], canUp, canDown, random);
    }

    @Override
    public boolean withinBudget(Genome genome) {
        if (genome.size() != units()) {
            return false;
        }
        for (int u = 0; u < units(); u++) {
            if (genome.level(u) < minBits || genome.level(u) > maxBits) {
                return false;
            }
        }
        return totalBits(genome) <= budgetBits;
    }

    @Override
    public String toString() {
        return "bits domain of " + units() + " layers at " + target + " bits (" + minBits + ".." + maxBits + ")";
    }
}
