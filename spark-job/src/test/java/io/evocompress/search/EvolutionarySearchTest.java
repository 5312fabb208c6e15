package io.evocompress.search;

import io.evocompress.EvocompressException;
import io.evocompress.fs.HadoopFiles;
import org.apache.hadoop.fs.FileSystem;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.ToDoubleFunction;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class EvolutionarySearchTest {
    @TempDir
    Path dir;

    /** 12 layers with levels -4..4; optimum c (sum 0) of a weighted separable convex fitness. */
    private static final int[] OPTIMUM = {3, -2, 0, 4, -4, 1, -1, 2, -3, 0, 1, -1};
    private static final SparsityDomain CONVEX_DOMAIN = new SparsityDomain(
        DomainBudgetTest.llamaUnits().subList(0, 12), Collections.nCopies(12, List.of(-4, -3, -2, -1, 0, 1, 2, 3, 4)));

    private static double convex(Genome g) {
        double f = 0;
        for (int u = 0; u < OPTIMUM.length; u++) {
            double d = g.level(u) - OPTIMUM[u];
            f += (1 + u % 3) * d * d;
        }
        return f;
    }

    private static final CalibrationPool POOL = new CalibrationPool(64, 128);
    private static final SearchPreset CONVEX_PRESET = SearchPreset.fast().withGenerations(40).withInitial(1, 512);

    @Test
    void reachesTheOptimumOfASeparableConvexFitnessAndBeatsRandomSearch() {
        SyntheticEvaluator evaluator = new SyntheticEvaluator(EvolutionarySearchTest::convex, 20);
        SearchResult result = new EvolutionarySearch(CONVEX_DOMAIN, CONVEX_PRESET, POOL, 11).run(evaluator);
        assertEquals(new Genome(OPTIMUM), result.best());
        assertEquals(0, result.fitness(), 20 / Math.sqrt(8192));
        assertEquals(convex(CONVEX_DOMAIN.fixedStart().orElseThrow()), result.history().get(0).fitness(), 1);
        int budget = (int) evaluator.scored();
        ScoredGenome random = new RandomSearchBaseline(CONVEX_DOMAIN, budget).best(new SyntheticEvaluator(EvolutionarySearchTest::convex, 20),
            POOL, 8192, 11);
        assertTrue(random.fitness() > 10, "best of " + budget + " random profiles: " + random.fitness());
    }

    /** A budget-keeping genome near OPTIMUM (sum 0): every level off by one in alternating directions. */
    private static Genome nearOptimum() {
        int[] l = OPTIMUM.clone();
        for (int u = 0; u < l.length; u++) {
            l[u] += u % 2 == 0 ? (l[u] < 4 ? 1 : -1) : 0;
        }
        int excess = java.util.Arrays.stream(l).sum();
        for (int u = 1; excess != 0; u += 2) {
            int step = excess > 0 ? -1 : 1;
            if (l[u] + step >= -4 && l[u] + step <= 4) {
                l[u] += step;
                excess += step;
            }
        }
        return new Genome(l);
    }

    @Test
    void initBestStartsFromTheBestCandidateOnTheInitialMinibatch() {
        Genome near = nearOptimum();
        Genome uniform = CONVEX_DOMAIN.fixedStart().orElseThrow();
        assertTrue(convex(near) < convex(uniform) / 4, convex(near) + " vs " + convex(uniform));
        int[] far = new int[12];
        far[0] = 4;
        far[1] = -4;
        List<StartCandidate> starts = List.of(new StartCandidate("uniform", uniform), new StartCandidate("far", new Genome(far)),
            new StartCandidate("near", near));
        SyntheticEvaluator evaluator = new SyntheticEvaluator(EvolutionarySearchTest::convex, 20);
        EvolutionarySearch search = new EvolutionarySearch(CONVEX_DOMAIN, CONVEX_PRESET.withGenerations(0), POOL, 11)
            .withStarts(starts);
        double[][] told = new double[1][];
        SearchState state = search.initialize(evaluator, new SearchProgress() {
            @Override
            public void onGeneration(Report report) {
            }

            @Override
            public void onStart(List<StartCandidate> candidates, double[] fitness, long tokens) {
                assertEquals(starts, candidates, "the domain's own start (uniform) is not scored twice");
                assertEquals(512, tokens);
                told[0] = fitness;
            }
        });
        assertEquals(near, state.parent());
        assertEquals(3, evaluator.scored(), "one score per distinct start");
        assertEquals(3, search.initialEvaluations());
        assertEquals(told[0][2], state.parentFitness());
        assertEquals(convex(near), state.parentFitness(), 20 / Math.sqrt(512));
        EvocompressException e = assertThrows(EvocompressException.class, () -> search.withStarts(
            List.of(new StartCandidate("over budget", new Genome(new int[]{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})))));
        assertTrue(e.getMessage().contains("over budget"), e.getMessage());
    }

    /** Whole-block dropping, 6 of 16: per-block costs plus pairwise interactions, strongest between neighbours. */
    private static ToDoubleFunction<Genome> interacting() {
        SplittableRandom r = new SplittableRandom(42);
        double[] cost = new double[16];
        double[][] pair = new double[16][16];
        for (int i = 0; i < 16; i++) {
            cost[i] = r.nextDouble();
            for (int j = i + 1; j < 16; j++) {
                pair[i][j] = r.nextDouble(-0.1, 0.1) + (j == i + 1 ? 0.3 : 0); // neighbours dropped together hurt more
            }
        }
        return g -> {
            double f = 0;
            for (int i = 0; i < 16; i++) {
                if (g.level(i) == 1) {
                    f += cost[i];
                    for (int j = i + 1; j < 16; j++) {
                        f += g.level(j) * pair[i][j];
                    }
                }
            }
            return f;
        };
    }

    @Test
    void depthSearchFindsTheBruteForceOptimumOfANonAdditiveFitness() {
        DepthDomain domain = DepthDomain.wholeBlocks(16, 6);
        CalibrationPool pool = new CalibrationPool(64, 512);
        ToDoubleFunction<Genome> f = interacting();
        ScoredGenome exact = new BruteForceDepth(domain, BruteForceDepth.DEFAULT_LIMIT).best(new SyntheticEvaluator(f, 0),
            pool.draw(32768, new SplittableRandom(1)));
        ScoredGenome noisy = new BruteForceDepth(domain, BruteForceDepth.DEFAULT_LIMIT).best(new SyntheticEvaluator(f, 1),
            pool.draw(32768, new SplittableRandom(1)));
        assertEquals(exact.genome(), noisy.genome());
        // The sum of per-block costs alone points elsewhere: the interactions matter.
        ScoredGenome byCost = new BruteForceDepth(domain, BruteForceDepth.DEFAULT_LIMIT).best(new SyntheticEvaluator(g -> {
            return f.applyAsDouble(g) - interactionsOf(f, g);
        }, 0), pool.draw(2048, new SplittableRandom(1)));
        assertNotEquals(exact.genome(), byCost.genome());
        assertTrue(domain.withinBudget(exact.genome()));
        SearchPreset preset = SearchPreset.depth(16, 6); // 32 offspring, 2@2048, 1@32768; 20 seeds checked once, all find it
        assertEquals(40, preset.generations());
        for (long seed = 1; seed <= 3; seed++) {
            SyntheticEvaluator evaluator = new SyntheticEvaluator(f, 1);
            SearchResult result = new EvolutionarySearch(domain, preset, pool, seed).run(evaluator);
            assertEquals(exact.genome(), result.best(), "seed " + seed);
            assertTrue(evaluator.scored() < 8008 / 2, "the search must use far fewer scores than brute force: " + evaluator.scored());
        }
    }

    /** The pairwise part of {@link #interacting()}: f(g) minus the sum of f of each single dropped block. */
    private static double interactionsOf(ToDoubleFunction<Genome> f, Genome g) {
        double singles = 0;
        for (int i = 0; i < g.size(); i++) {
            if (g.level(i) == 1) {
                int[] one = new int[g.size()];
                one[i] = 1;
                singles += f.applyAsDouble(new Genome(one));
            }
        }
        return f.applyAsDouble(g) - singles;
    }

    @Test
    void sameSeedSameRunDifferentSeedDifferentPath() {
        SearchPreset preset = CONVEX_PRESET.withGenerations(10);
        SearchResult a = new EvolutionarySearch(CONVEX_DOMAIN, preset, POOL, 5).run(new SyntheticEvaluator(EvolutionarySearchTest::convex, 20));
        SearchResult b = new EvolutionarySearch(CONVEX_DOMAIN, preset, POOL, 5).run(new SyntheticEvaluator(EvolutionarySearchTest::convex, 20));
        SearchResult c = new EvolutionarySearch(CONVEX_DOMAIN, preset, POOL, 6).run(new SyntheticEvaluator(EvolutionarySearchTest::convex, 20));
        assertEquals(a, b);
        assertNotEquals(a.history(), c.history());
    }

    @Test
    void resumeAfterACrashEndsExactlyAsAnUninterruptedRun() {
        SearchPreset preset = CONVEX_PRESET.withGenerations(12);
        SearchResult uninterrupted = new EvolutionarySearch(CONVEX_DOMAIN, preset, POOL, 9)
            .run(new SyntheticEvaluator(EvolutionarySearchTest::convex, 20));

        FileSystem fs = HadoopFiles.fileSystem(HadoopFiles.path(dir.toString()), HadoopFiles.defaultConf());
        JsonCheckpointStore store = new JsonCheckpointStore(fs, HadoopFiles.path(dir.resolve("run/search-state.json").toString()));
        SyntheticEvaluator healthy = new SyntheticEvaluator(EvolutionarySearchTest::convex, 20);
        CandidateEvaluator crashing = (candidates, batch) -> {
            if (healthy.calls.size() == 1 + 2 * 7 + 1) { // mid generation 8, after its first stage
                throw new IllegalStateException("executor lost");
            }
            return healthy.evaluate(candidates, batch);
        };
        List<Integer> reported = new ArrayList<>();
        EvolutionarySearch search = new EvolutionarySearch(CONVEX_DOMAIN, preset, POOL, 9);
        assertThrows(IllegalStateException.class, () -> search.run(crashing, store, r -> reported.add(r.generation())));
        assertEquals(List.of(0, 1, 2, 3, 4, 5, 6, 7), reported);
        assertEquals(7, store.load().orElseThrow().generation());

        List<SearchProgress.Report> reports = new ArrayList<>();
        SyntheticEvaluator resumed = new SyntheticEvaluator(EvolutionarySearchTest::convex, 20);
        SearchResult result = search.run(resumed, store, reports::add);
        assertEquals(uninterrupted, result);
        assertEquals(2 * 5, resumed.calls.size(), "resume re-runs only generations 8..12");
        assertEquals(List.of(8, 9, 10, 11, 12), reports.stream().map(SearchProgress.Report::generation).toList());
        SearchProgress.Report last = reports.get(4);
        assertEquals(0, last.secondsLeft());
        assertTrue(last.candidatesPerSecond() > 0);
        assertEquals(result.fitness(), last.bestFitness());

        // A finished checkpoint returns the result without scoring anything.
        SyntheticEvaluator none = new SyntheticEvaluator(EvolutionarySearchTest::convex, 20);
        assertEquals(uninterrupted, search.run(none, store, SearchProgress.NONE));
        assertEquals(0, none.calls.size());
        String error = assertThrows(EvocompressException.class, () -> new EvolutionarySearch(CONVEX_DOMAIN, preset, POOL, 10)
            .run(none, store, SearchProgress.NONE)).getMessage();
        assertTrue(error.contains("seed 9, this run has seed 10"), error);
    }

    @Test
    void finalistsAreTheWinnerThenTheParentsItReplacedLatestFirstEachOnce() throws Exception {
        Genome a = new Genome(new int[]{0, 0});
        Genome b = new Genome(new int[]{1, -1});
        Genome c = new Genome(new int[]{2, -2});
        SearchResult r = new SearchResult(c, 0.5, List.of(new GenerationFitness(0, 3.0, a), new GenerationFitness(1, 2.9, a),
            new GenerationFitness(2, 2.0, b), new GenerationFitness(3, 1.8, b), new GenerationFitness(4, 0.5, c)));
        assertEquals(List.of(new ScoredGenome(c, 0.5), new ScoredGenome(b, 1.8), new ScoredGenome(a, 2.9)), r.finalists(5));
        assertEquals(List.of(new ScoredGenome(c, 0.5), new ScoredGenome(b, 1.8)), r.finalists(2));
        assertEquals(List.of(new ScoredGenome(c, 0.5)), r.finalists(1));
        assertThrows(IllegalArgumentException.class, () -> r.finalists(0));
        // a baseline the caller measures anyway is left out (the shortlist goes on past it), unless it won
        assertEquals(List.of(new ScoredGenome(c, 0.5), new ScoredGenome(a, 2.9)), r.finalists(2, b));
        assertEquals(List.of(new ScoredGenome(c, 0.5), new ScoredGenome(b, 1.8)), r.finalists(3, a));
        assertEquals(List.of(new ScoredGenome(c, 0.5), new ScoredGenome(b, 1.8)), r.finalists(2, c), "the winner stays");

        // a real run: every finalist was a parent, the history round-trips through the checkpoint with its parents
        SearchPreset preset = CONVEX_PRESET.withGenerations(12);
        FileSystem fs = HadoopFiles.fileSystem(HadoopFiles.path(dir.toString()), HadoopFiles.defaultConf());
        JsonCheckpointStore store = new JsonCheckpointStore(fs, HadoopFiles.path(dir.resolve("f/search-state.json").toString()));
        SearchResult run = new EvolutionarySearch(CONVEX_DOMAIN, preset, POOL, 3)
            .run(new SyntheticEvaluator(EvolutionarySearchTest::convex, 20), store, SearchProgress.NONE);
        List<ScoredGenome> f = run.finalists(4);
        assertEquals(run.best(), f.get(0).genome());
        assertTrue(f.size() > 1, "a 12-generation search on this fitness replaces its parent: " + run.history());
        assertEquals(f.size(), f.stream().map(ScoredGenome::genome).distinct().count());
        for (ScoredGenome g : f) {
            assertTrue(run.history().stream().anyMatch(h -> g.genome().equals(h.parent()) && h.fitness() == g.fitness()), g.toString());
        }
        assertEquals(run, SearchResult.of(store.load().orElseThrow()));

        // a checkpoint written before parents were recorded: the winner alone
        java.nio.file.Files.writeString(dir.resolve("old.json"), "{\"seed\": 3, \"generation\": 1, \"parent\": [1, -1], "
            + "\"parentFitness\": 2.0, \"history\": [{\"generation\": 0, \"fitness\": 3.0}, {\"generation\": 1, \"fitness\": 2.0}]}");
        SearchState old = new JsonCheckpointStore(fs, HadoopFiles.path(dir.resolve("old.json").toString())).load().orElseThrow();
        assertEquals(List.of(new ScoredGenome(b, 2.0)), SearchResult.of(old).finalists(3));
    }

    @Test
    void presetsAndBaselineLimits() {
        assertEquals("[8@2048, 2@16384, 1@65536]", SearchPreset.sparsity().stages().toString());
        assertEquals(400, SearchPreset.sparsity().generations());
        assertEquals(64, SearchPreset.sparsity().offspring());
        assertEquals("[16@2048, 4@16384, 1@131072]", SearchPreset.quantization().stages().toString());
        assertEquals(150, SearchPreset.quantization().generations());
        assertEquals(128, SearchPreset.quantization().offspring());
        assertEquals("[1@512, 1@8192]", SearchPreset.fast().stages().toString());
        assertEquals(16, SearchPreset.named("fast", CONVEX_DOMAIN).offspring());
        assertEquals(SearchPreset.depth(32, 8), SearchPreset.named("depth", DepthDomain.halves(32, 8)));
        assertEquals(128, SearchPreset.depth(32, 8).generations()); // 8 * 24 / 1.5
        assertThrows(EvocompressException.class, () -> SearchPreset.named("depth", CONVEX_DOMAIN));
        assertThrows(EvocompressException.class, () -> SearchPreset.named("slow", CONVEX_DOMAIN));
        String error = assertThrows(EvocompressException.class, () -> new BruteForceDepth(DepthDomain.halves(16, 6), 100_000)
            .best(new SyntheticEvaluator(g -> 0, 0), POOL.draw(128, new SplittableRandom(1)))).getMessage();
        assertTrue(error.contains("64128064 configurations, more than the limit of 100000"), error);
        assertEquals(8008, new BruteForceDepth(DepthDomain.wholeBlocks(16, 6), 8008).configurations().size());
        assertEquals(36, new BruteForceDepth(DepthDomain.halves(4, 2), 36).configurations().stream().distinct().count());
    }

    @Test
    void profileTextRoundTrips() {
        DepthDomain depth = DepthDomain.halves(3, 1);
        Genome g = new Genome(new int[] {0, 1, 0, 1, 0, 0});
        String text = depth.profile(g);
        assertEquals("model.layers.0.self_attn: 0\nmodel.layers.1.self_attn: 1\nmodel.layers.2.self_attn: 0\n"
            + "model.layers.0.mlp: 1\nmodel.layers.1.mlp: 0\nmodel.layers.2.mlp: 0\n", text);
        assertEquals(g, Profile.parse(depth, text));
        assertEquals(new Genome(OPTIMUM), Profile.parse(CONVEX_DOMAIN, CONVEX_DOMAIN.profile(new Genome(OPTIMUM))));
        assertTrue(assertThrows(EvocompressException.class, () -> Profile.parse(depth, text.replace("1.mlp: 0", "1.mlp: 1")))
            .getMessage().contains("not a legal genome"));
        assertTrue(assertThrows(EvocompressException.class, () -> Profile.parse(depth, "model.layers.9.mlp: 1\n"))
            .getMessage().contains("does not name a unit"));
        assertTrue(assertThrows(EvocompressException.class, () -> Profile.parse(depth, "model.layers.0.mlp: 1\n"))
            .getMessage().contains("no line for module model.layers.0.self_attn"));
    }
}
