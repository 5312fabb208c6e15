package io.evocompress.fitness;

import io.evocompress.Fixtures;
import io.evocompress.calibration.CalibrationFixtures;
import io.evocompress.metrics.ModelScorer;
import io.evocompress.metrics.SequenceScores;
import io.evocompress.model.CausalLm;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Fitness on a minibatch: KL, top-K KL and perplexity against ModelScorer / TokenMetrics on the same tokens. */
class CandidateScorerTest {
    private static final int BATCH = 4;
    private static int[][] pool;
    private static CausalLm dense;
    private static TeacherOutputs full;
    private static VariantArrayCache cache;

    // every pool sequence in full, and a minibatch of prefixes (a stage's truncated last sequence)
    private static final int[] ALL = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    private static final int[] PREFIX_SEQS = {3, 7, 0, 9, 5};
    private static final int[] PREFIX_LENS = {128, 96, 60, 60, 17};

    @BeforeAll
    static void setUp() {
        pool = FitnessFixtures.pool();
        dense = CalibrationFixtures.load(Fixtures.stories260k());
        full = TeacherOutputs.compute(dense, pool, 0, BATCH, Long.MAX_VALUE);
        cache = new VariantArrayCache(1L << 30);
    }

    @AfterAll
    static void tearDown() {
        dense.close();
        cache.close();
    }

    private static int[] lengthsOf(int[] seqs) {
        return Arrays.stream(seqs).map(s -> pool[s].length).toArray();
    }

    /** The minibatch's token ids as ModelScorer takes them. */
    private static List<int[]> tokens(int[] seqs, int[] lens) {
        List<int[]> out = new ArrayList<>();
        for (int i = 0; i < seqs.length; i++) {
            out.add(Arrays.copyOf(pool[seqs[i]], lens[i]));
        }
        return out;
    }

    private static CandidateModel candidate(CandidateSpec spec) {
        CandidateModel m = new CandidateModel(CalibrationFixtures.load(Fixtures.stories260k()), true, "memory",
            new FitnessFixtures.MapSource(), cache);
        m.apply(spec);
        return m;
    }

    private static void assertRelative(double expected, double actual, double tolerance) {
        assertTrue(Math.abs(expected - actual) <= tolerance * Math.abs(expected),
            "expected " + expected + " but was " + actual + " (relative " + Math.abs(expected - actual) / Math.abs(expected) + ")");
    }

    @Test
    void theDenseModelScoresZeroKlAndModelScorersPerplexity() {
        try (CandidateModel m = candidate(CandidateSpec.dense())) {
            CandidateScore kl = new CandidateScorer(FitnessKind.KL, BATCH).score(m, full, pool, ALL, lengthsOf(ALL));
            assertTrue(Math.abs(kl.fitness()) < 1e-7, "dense KL " + kl.fitness());
            assertEquals(pool.length * 127 - 4 * 32, kl.positions());
            CandidateScore prefixes = new CandidateScorer(FitnessKind.KL, BATCH).score(m, full, pool, PREFIX_SEQS, PREFIX_LENS);
            assertTrue(Math.abs(prefixes.fitness()) < 1e-7, "dense KL on prefixes " + prefixes.fitness());
            CandidateScore ppl = new CandidateScorer(FitnessKind.PPL, BATCH).score(m, null, pool, ALL, lengthsOf(ALL));
            SequenceScores reference = new ModelScorer(dense, null, BATCH).score(tokens(ALL, lengthsOf(ALL)), null);
            assertRelative(reference.perplexity(), ppl.fitness(), 1e-6);
            assertRelative(reference.nllSum(), ppl.sum(), 1e-6);
            assertTrue(ppl.fitness() > 2 && ppl.fitness() < 20, "stories260K held-out ppl " + ppl.fitness());
        }
    }

    @Test
    void klOfACompressedModelEqualsModelScorersOnTheSameTokens() {
        CandidateSpec spec = CandidateModelTest.randomSpec(7);
        try (CandidateModel m = candidate(spec); CausalLm manual = CandidateModelTest.byHand(spec)) {
            for (int[][] batch : new int[][][] {{ALL, lengthsOf(ALL)}, {PREFIX_SEQS, PREFIX_LENS}}) {
                CandidateScore got = new CandidateScorer(FitnessKind.KL, BATCH).score(m, full, pool, batch[0], batch[1]);
                SequenceScores reference = new ModelScorer(manual, dense, BATCH).score(tokens(batch[0], batch[1]), null);
                assertEquals(reference.klTokens(), got.positions());
                assertRelative(reference.klDivergence(), got.fitness(), 1e-6);
                assertTrue(got.fitness() > 0.01, "a compressed model has a KL clearly above 0: " + got.fitness());
                assertTrue(got.timing().forwardNanos() > 0 && got.timing().metricNanos() > 0);
            }
        }
    }

    @Test
    void topKKlWithTheWholeVocabularyIsTheFullKlAndWithFewTokensAnApproximation() {
        CandidateSpec spec = CandidateModelTest.randomSpec(11);
        int[] lens = lengthsOf(ALL);
        try (CandidateModel m = candidate(spec)) {
            double exact = new CandidateScorer(FitnessKind.KL, BATCH).score(m, full, pool, ALL, lens).fitness();
            TeacherOutputs whole = TeacherOutputs.compute(dense, pool, 512, BATCH, Long.MAX_VALUE);
            assertEquals(512, whole.topK());
            double topV = new CandidateScorer(FitnessKind.TOPK_KL, BATCH).score(m, whole, pool, ALL, lens).fitness();
            assertRelative(exact, topV, 1e-5);
            TeacherOutputs few = TeacherOutputs.compute(dense, pool, 64, BATCH, Long.MAX_VALUE);
            double top64 = new CandidateScorer(FitnessKind.TOPK_KL, BATCH).score(m, few, pool, ALL, lens).fitness();
            assertTrue(Math.abs(top64 - exact) > 1e-4 * exact, "top-64 is an approximation: " + top64 + " vs " + exact);
            assertRelative(exact, top64, 0.25);
            assertTrue(few.bytes() < full.bytes() / 3, "top-64 keeps less than full log-probabilities");
        }
    }

    @Test
    void teacherMemoryAndMinibatchMistakesAreReportedWithWhatToDo() {
        var tooBig = assertThrows(io.evocompress.EvocompressException.class,
            () -> TeacherOutputs.compute(dense, pool, 0, BATCH, 1 << 20));
        assertTrue(tooBig.getMessage().contains("topk-kl"), tooBig.getMessage());
        try (CandidateModel m = candidate(CandidateSpec.dense())) {
            var tooLong = assertThrows(io.evocompress.EvocompressException.class,
                () -> new CandidateScorer(FitnessKind.KL, BATCH).score(m, full, pool, new int[] {7}, new int[] {128}));
            assertTrue(tooLong.getMessage().contains("pool sequence 7"), tooLong.getMessage());
            assertThrows(IllegalArgumentException.class,
                () -> new CandidateScorer(FitnessKind.TOPK_KL, BATCH).score(m, full, pool, ALL, lengthsOf(ALL)));
        }
    }

    @Test
    void theWorkerGivesTheSameNumberWhateverItsModelHeldBefore() {
        EvaluationSetup setup = EvaluationSetup.of(FitnessFixtures.model(), "memory:worker-test", FitnessKind.KL, BATCH)
            .withDevice("cpu", "auto");
        CandidateWorker worker = new CandidateWorker(setup, new MemoryOpener());
        String hash = TeacherOutputs.poolHash(pool);
        CandidateSpec a = CandidateModelTest.randomSpec(21);
        CandidateSpec b = CandidateModelTest.randomSpec(22);
        CandidateScore first = worker.evaluate(a, pool, hash, PREFIX_SEQS, PREFIX_LENS, null);
        worker.evaluate(b, pool, hash, PREFIX_SEQS, PREFIX_LENS, null);
        CandidateScore again = worker.evaluate(a, pool, hash, PREFIX_SEQS, PREFIX_LENS, null);
        assertEquals(first.fitness(), again.fitness(), 0.0);
        assertTrue(first.timing().stitchNanos() > 0);
        double dense = worker.evaluate(CandidateSpec.dense(), pool, hash, PREFIX_SEQS, PREFIX_LENS, null).fitness();
        assertTrue(Math.abs(dense) < 1e-7, "dense " + dense);
        CandidateModelPool.clear();
    }

    static final class MemoryOpener implements VariantSourceOpener {
        @Override
        public VariantSource open(String location) {
            return new FitnessFixtures.MapSource();
        }
    }
}
