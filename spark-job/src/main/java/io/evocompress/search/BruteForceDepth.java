package io.evocompress.search;

import io.evocompress.EvocompressException;

import java.util.ArrayList;
import java.util.List;

/**
 * Scores every depth configuration (all C(n, k) choices of dropped blocks, or C(n, k)^2 pairs of
 * attention and MLP choices) on one minibatch and returns the best; ties go to the earlier one in
 * lexicographic order. Refuses spaces larger than its limit. Candidates go to the evaluator in chunks.
 */
public final class BruteForceDepth {
    public static final long DEFAULT_LIMIT = 100_000;
    static final int CHUNK = 1024;

    private final DepthDomain domain;
    private final long limit;

    public BruteForceDepth(DepthDomain domain, long limit) {
        this.domain = domain;
        this.limit = limit;
    }

    public ScoredGenome best(CandidateEvaluator evaluator, Minibatch batch) {
        if (domain.configurations() > limit) {
            throw new EvocompressException("brute force over the " + domain + " would score " + (long) domain.configurations()
                + " configurations, more than the limit of " + limit + ": raise the limit or use the evolutionary search");
        }
        List<Genome> all = configurations();
        ScoredGenome best = null;
        for (int from = 0; from < all.size(); from += CHUNK) {
            ScoredGenome s = bestOf(evaluator, all.subList(from, Math.min(all.size(), from + CHUNK)), batch);
            if (best == null || Double.compare(s.fitness(), best.fitness()) < 0) {
                best = s;
            }
        }
        return best;
    }

    /** Every configuration, in lexicographic order of (attention choice, MLP choice). */
    List<Genome> configurations() {
        List<int[]> choices = combinations(domain.blocks(), domain.dropped());
        List<Genome> out = new ArrayList<>();
        int n = domain.blocks();
        for (int[] first : domain.types() == 1 ? List.of(new int[0]) : choices) {
            for (int[] second : choices) {
                int[] levels = new int[domain.units()];
                for (int b : first) {
                    levels[b] = 1;
                }
                for (int b : second) {
                    levels[(domain.types() - 1) * n + b] = 1;
                }
                out.add(new Genome(levels));
            }
        }
        return out;
    }

    private static ScoredGenome bestOf(CandidateEvaluator evaluator, List<Genome> genomes, Minibatch batch) {
        return ScoredGenome.best(evaluator, genomes, batch);
    }

    /** All k-subsets of 0..n-1, each ascending, in lexicographic order. */
    static List<int[]> combinations(int n, int k) {
        List<int[]> out = new ArrayList<>();
        int[] c = java.util.stream.IntStream.range(0, k).toArray();
        while (true) {
            out.add(c.clone());
            int i = k - 1;
            while (i >= 0 && c[i] == n - k + i) {
                i--;
            }
            if (i < 0) {
                return out;
            }
            c[i]++;
            for (int j = i + 1; j < k; j++) {
                c[j] = c[j - 1] + 1;
            }
        }
    }
}
