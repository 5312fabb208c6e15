package io.evocompress.search;

import io.evocompress.EvocompressException;

import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.random.RandomGenerator;
import java.util.stream.IntStream;

/**
 * DarwinLM's structured domain (ALGORITHMS.md section 5): units 0..n-1 are the blocks' attention
 * (heads removed), units n..2n-1 their MLP (neurons removed); levels are the structured database's
 * offsets around the uniform count, each step of a group removing the same number of structures. A
 * switch picks a group with probability proportional to its number of units, then moves one unit of
 * that group up one level and another down one, so each group's removed parameters, and the model's,
 * stay exactly those of the all-zero (uniform) start.
 */
public final class DarwinDomain implements SearchDomain {
    private final List<String> names;
    private final int[][] levels;
    private final int blocks;

    /**
     * @param names  2n unit names (attention units first)
     * @param levels per unit its contiguous levels including 0
     */
    public DarwinDomain(List<String> names, List<List<Integer>> levels) {
        if (names.isEmpty() || names.size() % 2 != 0 || names.size() != levels.size()) {
            throw new EvocompressException("the structured domain needs an attention and an MLP unit per block, with levels, but got "
                + names.size() + " units and " + levels.size() + " level lists");
        }
        this.names = List.copyOf(names);
        this.blocks = names.size() / 2;
        this.levels = new int[names.size()][];
        for (int i = 0; i < names.size(); i++) {
            int[] l = levels.get(i).stream().mapToInt(Integer::intValue).sorted().toArray();
            if (Arrays.binarySearch(l, 0) < 0 || l[l.length - 1] - l[0] != l.length - 1) {
                throw new EvocompressException("unit " + names.get(i) + " must have contiguous levels including 0, but had "
                    + Arrays.toString(l));
            }
            this.levels[i] = l;
        }
    }

    public int blocks() {
        return blocks;
    }

    /** Attention levels per block. */
    public int[] attention(Genome g) {
        return Arrays.copyOfRange(g.levels(), 0, blocks);
    }

    /** MLP levels per block. */
    public int[] mlp(Genome g) {
        return Arrays.copyOfRange(g.levels(), blocks, 2 * blocks);
    }

    @Override
    public int units() {
        return names.size();
    }

    @Override
    public String unitName(int unit) {
        return names.get(unit);
    }

    @Override
    public int[] levels(int unit) {
        return levels[unit].clone();
    }

    private boolean legal(int unit, int level) {
        return level >= levels[unit][0] && level <= levels[unit][levels[unit].length - 1];
    }

    @Override
    public Optional<Genome> fixedStart() {
        return Optional.of(new Genome(new int[units()]));
    }

    @Override
    public Genome random(RandomGenerator random) {
        return randomWalk(fixedStart().orElseThrow(), random);
    }

    @Override
    public Genome mutate(Genome genome, RandomGenerator random) {
        // both groups hold n units: proportional to size is 1/2 each; a group without a switch falls back to the other
        int first = random.nextInt(units()) < blocks ? 0 : 1;
        for (int k = 0; k < 2; k++) {
            int group = (first + k) % 2;
            int[] members = IntStream.range(group * blocks, (group + 1) * blocks).toArray();
            Genome next = LevelSwitch.apply(genome, members, u -> legal(u, genome.level(u) + 1),
                u -> legal(u, genome.level(u) - 1), random);
            if (next != null) {
                return next;
            }
        }
        return genome;
    }

    @Override
    public boolean withinBudget(Genome genome) {
        if (genome.size() != units()) {
            return false;
        }
        long attention = 0;
        long mlp = 0;
        for (int u = 0; u < units(); u++) {
            if (!legal(u, genome.level(u))) {
                return false;
            }
            if (u < blocks) {
                attention += genome.level(u);
            } else {
                mlp += genome.level(u);
            }
        }
        return attention == 0 && mlp == 0;
    }

    @Override
    public String toString() {
        return "structured domain of " + blocks + " blocks (attention heads, MLP neurons)";
    }
}
