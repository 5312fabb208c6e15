package io.evocompress.search;

import io.evocompress.EvocompressException;
import io.evocompress.fitness.GenomeDecoder;

import java.util.Optional;
import java.util.random.RandomGenerator;

/**
 * Depth pruning (ALGORITHMS.md section 3). In block-half mode the genome is two flag vectors over the
 * n blocks, attention dropped (units 0..n-1) then MLP dropped (units n..2n-1); level 0 is kept, 1
 * dropped (a dropped half passes its input through the residual). A switch picks attention or MLP with
 * probability 1/2, restores one dropped unit of that type and drops one kept one, so exactly k of each
 * stay dropped. In whole-block mode there is one flag per block and k blocks dropped. The search
 * starts from the best of several random configurations.
 */
public final class DepthDomain implements SearchDomain {
    private final int blocks;
    private final int dropped;
    private final boolean wholeBlocks;
    private final String blockStem;   // the family's block names: <stem>.<i>, e.g. model.layers, transformer.h

    private DepthDomain(int blocks, int dropped, boolean wholeBlocks) {
        this(blocks, dropped, wholeBlocks, "model.layers");
    }

    private DepthDomain(int blocks, int dropped, boolean wholeBlocks, String blockStem) {
        if (blocks < 1 || dropped < 0 || dropped > blocks) {
            throw new EvocompressException("depth pruning needs 0 <= dropped <= blocks, but had " + dropped + " of " + blocks + " blocks");
        }
        this.blocks = blocks;
        this.dropped = dropped;
        this.wholeBlocks = wholeBlocks;
        this.blockStem = blockStem;
    }

    /** The same domain naming its units after the model family's blocks ({@code <stem>.<i>.self_attn} / {@code .mlp}). */
    public DepthDomain withBlockStem(String stem) {
        return new DepthDomain(blocks, dropped, wholeBlocks, stem);
    }

    /** Attention and MLP halves dropped separately, {@code dropped} of each. */
    public static DepthDomain halves(int blocks, int dropped) {
        return new DepthDomain(blocks, dropped, false);
    }

    /** Whole blocks dropped, {@code dropped} of them. */
    public static DepthDomain wholeBlocks(int blocks, int dropped) {
        return new DepthDomain(blocks, dropped, true);
    }

    /** k = int(s * blocks) dropped for a depth sparsity s. */
    public static DepthDomain forSparsity(int blocks, double sparsity, boolean wholeBlocks) {
        if (!(sparsity >= 0 && sparsity < 1)) {
            throw new EvocompressException("depth sparsity must be in [0, 1), but was " + sparsity);
        }
        return new DepthDomain(blocks, (int) (sparsity * blocks), wholeBlocks);
    }

    public int blocks() {
        return blocks;
    }

    public int dropped() {
        return dropped;
    }

    public boolean isWholeBlocks() {
        return wholeBlocks;
    }

    /** Flag vectors in the genome: 1 (whole blocks) or 2 (attention, MLP). */
    public int types() {
        return wholeBlocks ? 1 : 2;
    }

    /** Number of distinct configurations: C(n, k), squared for block halves. */
    public double configurations() {
        double c = 1;
        for (int i = 0; i < dropped; i++) {
            c = c * (blocks - i) / (i + 1);
        }
        return Math.rint(wholeBlocks ? c : c * c);
    }

    /** Whether the attention half of {@code block} is dropped (the whole block, in whole-block mode). */
    public boolean attentionDropped(Genome genome, int block) {
        return genome.level(block) == 1;
    }

    /** Whether the MLP half of {@code block} is dropped (the whole block, in whole-block mode). */
    public boolean mlpDropped(Genome genome, int block) {
        return genome.level(wholeBlocks ? block : blocks + block) == 1;
    }

    @Override
    public int units() {
        return types() * blocks;
    }

    @Override
    public String unitName(int unit) {
        if (wholeBlocks) {
            return blockStem + "." + unit;
        }
        return unit < blocks ? blockStem + "." + unit + ".self_attn" : blockStem + "." + (unit - blocks) + ".mlp";
    }

    @Override
    public int[] levels(int unit) {
        return new int[] {0, 1};
    }

    @Override
    public Optional<Genome> fixedStart() {
        return Optional.empty();
    }

    /** Each type: k distinct blocks drawn uniformly (a partial shuffle). */
    @Override
    public Genome random(RandomGenerator random) {
        int[] levels = new int[units()];
        for (int t = 0; t < types(); t++) {
            int[] order = java.util.stream.IntStream.range(0, blocks).toArray();
            for (int i = 0; i < dropped; i++) {
                int j = i + random.nextInt(blocks - i);
                int swap = order[i];
                order[i] = order[j];
                order[j] = swap;
                levels[t * blocks + order[i]] = 1;
            }
        }
        return new Genome(levels);
    }

    /** Restore one dropped unit and drop one kept unit of one type (restore = down a level, drop = up). */
    @Override
    public Genome mutate(Genome genome, RandomGenerator random) {
        int type = types() == 1 ? 0 : random.nextInt(2);
        int[] ofType = java.util.stream.IntStream.range(type * blocks, (type + 1) * blocks).toArray();
        Genome next = LevelSwitch.apply(genome, ofType, u -> genome.level(u) == 0, u -> genome.level(u) == 1, random);
        return next == null ? genome : next;
    }

    @Override
    public boolean withinBudget(Genome genome) {
        if (genome.size() != units()) {
            return false;
        }
        for (int t = 0; t < types(); t++) {
            int count = 0;
            for (int b = 0; b < blocks; b++) {
                int level = genome.level(t * blocks + b);
                if (level != 0 && level != 1) {
                    return false;
                }
                count += level;
            }
            if (count != dropped) {
                return false;
            }
        }
        return true;
    }

    /** Block flags: attention then MLP halves, or one flag per whole block. */
    @Override
    public GenomeDecoder decoder() {
        return GenomeDecoder.depth(blocks, wholeBlocks);
    }

    @Override
    public String toString() {
        return "depth domain dropping " + dropped + " of " + blocks + (wholeBlocks ? " blocks" : " attention and " + dropped + " MLP halves");
    }
}
