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
 *
 * <p>With ties ({@code domain.tie: [qkv, gate_up]}) the q, k and v projections of a block share one
 * width, and so do gate and up, as vLLM needs for its fused layers: a tied set moves as one unit whose
 * size is the sum of its members'. The genome still holds one level per layer; tied layers always carry
 * equal levels. Tied, half the mutations are the switch above (grouped by the sets' sizes, exact) and
 * half a {@link #trade} across sizes: with few large sets per size the switches alone can only put a
 * whole q/k/v or gate/up set at the lowest width, which on small models is worse than uniform every
 * time (stories260K at 3 bits never left its uniform start), while a trade can pay for one q/k/v set's
 * extra bit with two o projections. A trade keeps the total within budget, short of it by less than
 * the largest set's size.
 */
public final class BitsDomain implements SearchDomain {
    public static final int DEFAULT_MIN_BITS = 2;
    public static final int DEFAULT_MAX_BITS = 6;

    private final List<LinearUnit> units;
    private final double target;
    private final int minBits;
    private final int maxBits;
    private final long budgetBits; // floor(target * total numel)
    private final int[][] groups;  // (group, move indices of one numel), in order of first appearance
    private final int[][] moves;   // move index -> the genome units that move together (singletons when untied)
    private final long[] moveNumel;
    private final List<String> tie;
    /** The tie names {@code domain.tie} accepts. */
    public static final List<String> TIES = List.of("qkv", "gate_up");

    public BitsDomain(List<LinearUnit> units, double targetBits) {
        this(units, targetBits, DEFAULT_MIN_BITS, DEFAULT_MAX_BITS);
    }

    public BitsDomain(List<LinearUnit> units, double targetBits, int minBits, int maxBits) {
        this(units, targetBits, minBits, maxBits, List.of());
    }

    /** As above with tied layer sets: {@code tie} a subset of {@link #TIES}. */
    public BitsDomain(List<LinearUnit> units, double targetBits, int minBits, int maxBits, List<String> tie) {
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
        for (String t : tie) {
            if (!TIES.contains(t)) {
                throw new EvocompressException("domain.tie names '" + t + "'; it takes " + TIES);
            }
        }
        this.tie = List.copyOf(tie);
        Map<String, List<Integer>> sets = new LinkedHashMap<>();
        for (int i = 0; i < units.size(); i++) {
            sets.computeIfAbsent(tieKey(units.get(i).name(), tie, i), k -> new ArrayList<>()).add(i);
        }
        this.moves = sets.values().stream().map(l -> l.stream().mapToInt(Integer::intValue).toArray()).toArray(int[][]::new);
        this.moveNumel = new long[moves.length];
        Map<Long, List<Integer>> bySize = new LinkedHashMap<>();
        for (int m = 0; m < moves.length; m++) {
            for (int u : moves[m]) {
                moveNumel[m] += units.get(u).numel();
            }
            bySize.computeIfAbsent(moveNumel[m], k -> new ArrayList<>()).add(m);
        }
        this.groups = bySize.values().stream().map(l -> l.stream().mapToInt(Integer::intValue).toArray()).toArray(int[][]::new);
    }

    /** The tied set a unit belongs to: {@code <block>.qkv}, {@code <block>.gate_up}, or the unit alone. */
    private static String tieKey(String name, List<String> tie, int index) {
        java.util.regex.Matcher qkv = java.util.regex.Pattern.compile("^(.*)\\.self_attn\\.(q|k|v)_proj$").matcher(name);
        if (tie.contains("qkv") && qkv.matches()) {
            return qkv.group(1) + ".qkv";
        }
        java.util.regex.Matcher gu = java.util.regex.Pattern.compile("^(.*)\\.mlp\\.(gate|up)_proj$").matcher(name);
        if (tie.contains("gate_up") && gu.matches()) {
            return gu.group(1) + ".gate_up";
        }
        return "#" + index;
    }

    /** The tie names in effect (empty: untied). */
    public List<String> tie() {
        return tie;
    }

    /** The genome with one level per move (the level of its first member). */
    private Genome perMove(Genome genome) {
        int[] levels = new int[moves.length];
        for (int m = 0; m < moves.length; m++) {
            levels[m] = genome.level(moves[m][0]);
        }
        return new Genome(levels);
    }

    private Genome perUnit(Genome moveGenome) {
        int[] levels = new int[units.size()];
        for (int m = 0; m < moves.length; m++) {
            for (int u : moves[m]) {
                levels[u] = moveGenome.level(m);
            }
        }
        return new Genome(levels);
    }

    public double targetBits() {
        return target;
    }

    public long budgetBits() {
        return budgetBits;
    }

    /** The largest numel of a unit that moves as one (a tied set, or one layer): a trade leaves the total short of the budget by less. */
    public long largestMove() {
        return Arrays.stream(moveNumel).max().orElseThrow();
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
        int[] levels = new int[moves.length];
        Arrays.fill(levels, (int) Math.ceil(target));
        long total = totalBits(perUnit(new Genome(levels)));
        List<Integer> lowerable = new ArrayList<>();
        while (total > budgetBits) {
            lowerable.clear();
            for (int m = 0; m < levels.length; m++) {
                if (levels[m] > minBits) {
                    lowerable.add(m);
                }
            }
            int m = lowerable.get(random.nextInt(lowerable.size())); // non-empty: all at minBits is <= target
            levels[m]--;
            total -= moveNumel[m];
        }
        return perUnit(new Genome(levels));
    }

    @Override
    public Genome mutate(Genome full, RandomGenerator random) {
        if (moves.length < units.size() && random.nextBoolean()) { // some set is tied
            Genome traded = trade(perMove(full), random);
            if (traded != null) {
                return perUnit(traded);
            }
        }
        return sizeSwitch(full, random);
    }

    /**
     * A trade across sizes, made only where some layers are tied (ties that match no layer name, as on
     * BLOOM's fused query_key_value or Phi-3's qkv_proj, leave the domain untied): one move, drawn among
     * those below the maximum, goes up one bit; other moves, drawn one at a time among those above the
     * minimum, go down one bit each until the total is within budget again; then moves not lowered go up
     * one bit each, drawn among those whose size fits what is left, until none fits. The total ends within
     * budget, short of it by less than {@link #largestMove}. Null when nothing can pay for the raise.
     */
    private Genome trade(Genome genome, RandomGenerator random) {
        int[] levels = genome.levels();
        List<Integer> pool = new ArrayList<>();
        for (int m = 0; m < levels.length; m++) {
            if (levels[m] < maxBits) {
                pool.add(m);
            }
        }
        if (pool.isEmpty()) {
            return null;
        }
        int raised = pool.get(random.nextInt(pool.size()));
        levels[raised]++;
        long slack = budgetBits - totalBits(perUnit(new Genome(levels)));
        boolean[] lowered = new boolean[levels.length];
        while (slack < 0) {
            pool.clear();
            for (int m = 0; m < levels.length; m++) {
                if (m != raised && !lowered[m] && levels[m] > minBits) {
                    pool.add(m);
                }
            }
            if (pool.isEmpty()) {
                return null;
            }
            int m = pool.get(random.nextInt(pool.size()));
            lowered[m] = true;
            levels[m]--;
            slack += moveNumel[m];
        }
        while (true) {
            pool.clear();
            for (int m = 0; m < levels.length; m++) {
                if (!lowered[m] && levels[m] < maxBits && moveNumel[m] <= slack) {
                    pool.add(m);
                }
            }
            if (pool.isEmpty()) {
                return new Genome(levels);
            }
            int m = pool.get(random.nextInt(pool.size()));
            levels[m]++;
            slack -= moveNumel[m];
        }
    }

    /** The paper's switch: within one size group, one move up one bit and another down one. */
    private Genome sizeSwitch(Genome full, RandomGenerator random) {
        Genome genome = perMove(full);
        java.util.function.IntPredicate canUp = u -> genome.level(u) < maxBits;
        java.util.function.IntPredicate canDown = u -> genome.level(u) > minBits;
        int[] weights = new int[groups.length];
        int sum = 0;
        for (int g = 0; g < groups.length; g++) {
            weights[g] = LevelSwitch.exists(genome, groups[g], canUp, canDown) ? groups[g].length : 0;
            sum += weights[g];
        }
        if (sum == 0) {
            return full;
        }
        int pick = random.nextInt(sum);
        int g = 0;
        while (pick >= weights[g]) {
            pick -= weights[g++];
        }
        return perUnit(LevelSwitch.apply(genome, groups[g], canUp, canDown, random));
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
        for (int[] m : moves) {
            for (int u : m) {
                if (genome.level(u) != genome.level(m[0])) {
                    return false;
                }
            }
        }
        return totalBits(genome) <= budgetBits;
    }

    @Override
    public String toString() {
        return "bits domain of " + units() + " layers at " + target + " bits (" + minBits + ".." + maxBits + ")"
            + (tie.isEmpty() ? "" : ", tied " + tie);
    }
}
