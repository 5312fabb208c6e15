package io.evocompress.plan;

import io.evocompress.candidates.TaskSlices;
import io.evocompress.search.Genome;
import io.evocompress.search.Mutation;
import io.evocompress.search.SearchDomain;
import io.evocompress.search.SearchPreset;
import io.evocompress.search.SelectionStage;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.IntPredicate;

/**
 * Block forwards per generation with and without prefix sharing, predicted from the search's own
 * mutation distribution: {@code samples} generations of offspring drawn with {@link Mutation} from a
 * parent (the domain's start, then a random walk through accepted offspring), run through the
 * preset's stages (stage i scores the first survivors of stage i-1, the parent joins the last
 * stage; which candidates survive is taken as independent of where they differ).
 *
 * <p>A stage's candidates run together, half block by half block, over its minibatch; candidates
 * whose levels agree on every unit up to a half block share that half block's activations (a prefix
 * tree over the genome in block order), so each distinct prefix runs once. Counted as in the search's
 * {@code timing}: block-tokens, a half block one half, a dropped half (depth) not at all. Without
 * sharing: blocks x tokens x candidates.
 *
 * @param shared        predicted block-tokens per generation with sharing
 * @param naive         block-tokens per generation without
 * @param perStage      the same per stage: {shared, naive, candidates}
 * @param variantsAtBlock distinct (unit, level) pairs the parent and a stage's candidates use at the busiest
 *                      block, averaged over the samples (what a streamed task holds besides the dense block)
 */
public record PrefixSharing(double shared, double naive, List<double[]> perStage, double variantsAtBlock) {

    /** Where a unit lives: its half block (2 b for block b's attention, 2 b + 1 its MLP; whole blocks: both). */
    public interface Layout {
        int blocks();

        /** The first half block unit u belongs to. */
        int half(int unit);

        /** Whether the genome runs half block h (false where depth pruning dropped it). */
        boolean runs(Genome genome, int half);
    }

    /** Every unit on its half; every half runs. */
    public static Layout levels(int blocks, int[] halfOfUnit) {
        return new Layout() {
            public int blocks() {
                return blocks;
            }

            public int half(int unit) {
                return halfOfUnit[unit];
            }

            public boolean runs(Genome genome, int half) {
                return true;
            }
        };
    }

    /** Depth pruning: attention flags 0..n-1, MLP flags n..2n-1 (whole blocks: one flag per block); 1 = dropped. */
    public static Layout depth(int blocks, boolean wholeBlocks) {
        return new Layout() {
            public int blocks() {
                return blocks;
            }

            public int half(int unit) {
                return wholeBlocks ? 2 * unit : unit < blocks ? 2 * unit : 2 * (unit - blocks) + 1;
            }

            public boolean runs(Genome genome, int half) {
                int b = half / 2;
                int unit = wholeBlocks ? b : half % 2 == 0 ? b : blocks + b;
                return genome.level(unit) == 0;
            }
        };
    }

    /** Every stage's candidates in one task. */
    public static PrefixSharing predict(SearchDomain domain, Layout layout, SearchPreset preset, int samples, long seed) {
        return predict(domain, layout, preset, samples, seed, Integer.MAX_VALUE);
    }

    /**
     * As {@link #predict(SearchDomain, Layout, SearchPreset, int, long)}, with each stage's candidates cut into
     * tasks of {@code perTask} as the search's evaluator cuts them ({@link TaskSlices}: sorted by genome in block
     * order when there are several tasks, then cut into consecutive slices); prefixes are shared
     * within a task only (perTask 1: nothing shared, only dropped halves saved).
     */
    public static PrefixSharing predict(SearchDomain domain, Layout layout, SearchPreset preset, int samples, long seed,
                                        int perTask) {
        SplittableRandom random = new SplittableRandom(seed);
        Genome parent = domain.fixedStart().orElseGet(() -> domain.random(random));
        Mutation mutation = new Mutation(domain);
        List<SelectionStage> stages = preset.stages();
        double[][] sums = new double[stages.size()][3];
        double variants = 0;
        int units = domain.units();
        List<List<Integer>> unitsOfHalf = new ArrayList<>();
        for (int h = 0; h < 2 * layout.blocks(); h++) {
            unitsOfHalf.add(new ArrayList<>());
        }
        for (int u = 0; u < units; u++) {
            unitsOfHalf.get(layout.half(u)).add(u);
        }
        int[] order = unitsOfHalf.stream().flatMap(List::stream).mapToInt(Integer::intValue).toArray(); // block order
        for (int s = 0; s < samples; s++) {
            List<Genome> offspring = mutation.offspring(parent, preset.offspring(), random);
            List<Genome> remaining = offspring;
            for (int i = 0; i < stages.size(); i++) {
                List<Genome> candidates = new ArrayList<>(remaining);
                if (i == stages.size() - 1) {
                    candidates.add(parent);
                }
                List<Genome> cut = candidates;
                if (TaskSlices.count(candidates.size(), perTask) > 1) { // grouped by prefix, as the evaluator does
                    cut = new ArrayList<>();
                    for (int c : TaskSlices.grouped(candidates.stream().map(Genome::levels).toList(), order)) {
                        cut.add(candidates.get(c));
                    }
                }
                for (int[] task : TaskSlices.of(cut.size(), perTask)) {
                    sums[i][0] += blockForwards(cut.subList(task[0], task[1]), layout, unitsOfHalf);
                }
                sums[i][1] += (double) candidates.size() * layout.blocks();
                sums[i][2] += candidates.size();
                variants += busiestBlock(candidates, parent, layout, unitsOfHalf) / ((double) samples * stages.size());
                remaining = remaining.subList(0, Math.min(remaining.size(), stages.get(i).survivors()));
            }
            if (!offspring.isEmpty()) {
                parent = offspring.get(0); // a random accepted offspring: the parent drifts as in a search
            }
        }
        double shared = 0;
        double naive = 0;
        List<double[]> perStage = new ArrayList<>();
        for (int i = 0; i < stages.size(); i++) {
            double tokens = stages.get(i).tokens();
            double[] stage = {sums[i][0] / samples * tokens, sums[i][1] / samples * tokens, sums[i][2] / samples};
            perStage.add(stage);
            shared += stage[0];
            naive += stage[1];
        }
        return new PrefixSharing(shared, naive, perStage, variants);
    }

    /** Distinct prefixes per half block (groups refined half by half), each running half a block where it runs. */
    static double blockForwards(List<Genome> candidates, Layout layout, List<List<Integer>> unitsOfHalf) {
        int[] group = new int[candidates.size()];
        double total = 0;
        for (int h = 0; h < unitsOfHalf.size(); h++) {
            Map<List<Integer>, Integer> ids = new HashMap<>();
            int[] next = new int[group.length];
            Map<Integer, Integer> representative = new HashMap<>();
            for (int c = 0; c < group.length; c++) {
                List<Integer> key = new ArrayList<>();
                key.add(group[c]);
                for (int u : unitsOfHalf.get(h)) {
                    key.add(candidates.get(c).level(u));
                }
                Integer id = ids.get(key);
                if (id == null) {
                    id = ids.size();
                    ids.put(key, id);
                    representative.put(id, c);
                }
                next[c] = id;
            }
            final int half = h;
            IntPredicate runs = id -> layout.runs(candidates.get(representative.get(id)), half);
            for (int id = 0; id < ids.size(); id++) {
                if (runs.test(id)) {
                    total += 0.5;
                }
            }
            group = next;
        }
        return total;
    }

    /** Distinct (unit, level) pairs in use at the block where most are. */
    static int busiestBlock(List<Genome> candidates, Genome parent, Layout layout, List<List<Integer>> unitsOfHalf) {
        int most = 0;
        for (int b = 0; b < layout.blocks(); b++) {
            java.util.Set<Long> used = new java.util.HashSet<>();
            for (int h = 2 * b; h <= 2 * b + 1; h++) {
                for (int u : unitsOfHalf.get(h)) {
                    used.add(((long) u << 32) | (parent.level(u) & 0xffffffffL));
                    for (Genome g : candidates) {
                        used.add(((long) u << 32) | (g.level(u) & 0xffffffffL));
                    }
                }
            }
            most = Math.max(most, used.size());
        }
        return most;
    }

    public double ratio() {
        return naive == 0 ? 1 : shared / naive;
    }
}
