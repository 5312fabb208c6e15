package io.evocompress.candidates;

import io.evocompress.fitness.CandidateModelPool;
import io.evocompress.fitness.EvaluationSetup;
import io.evocompress.fitness.FitnessFixtures;
import io.evocompress.fitness.FitnessKind;
import io.evocompress.fitness.GenomeDecoder;
import io.evocompress.fitness.TeacherOutputs;
import io.evocompress.fitness.VariantSources;
import io.evocompress.search.Genome;
import io.evocompress.search.Minibatch;
import io.evocompress.spark.EvocompressKryoRegistrator;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.serializer.KryoSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Spark evaluator on local[2] (two concurrent tasks, Kryo with registration required, the
 * database read from files by the tasks) gives exactly the local evaluator's numbers, twice in a row.
 */
class SparkCandidateEvaluatorTest {
    @TempDir
    static Path dir;
    private static JavaSparkContext sc;
    private static int[][] pool;
    private static String database;

    @BeforeAll
    static void start() {
        pool = FitnessFixtures.pool();
        database = dir.resolve("db").toString();
        FitnessFixtures.writeStore(database);
        SparkConf conf = new SparkConf().setMaster("local[2]").setAppName("candidate evaluator test")
            .set("spark.driver.host", "127.0.0.1").set("spark.driver.bindAddress", "127.0.0.1")
            .set("spark.ui.enabled", "false")
            .set("spark.serializer", KryoSerializer.class.getName())
            .set("spark.kryo.registrator", EvocompressKryoRegistrator.class.getName())
            .set("spark.kryo.registrationRequired", "true");
        sc = new JavaSparkContext(conf);
        sc.setLogLevel("WARN");
    }

    @AfterAll
    static void stop() {
        sc.stop();
        CandidateModelPool.clear();
        VariantSources.clear();
        TeacherOutputs.clearCache();
    }

    private static List<Genome> genomes(int count, int units, long seed) {
        Random r = new Random(seed);
        List<Genome> out = new ArrayList<>();
        out.add(new Genome(new int[units]));
        for (int i = 1; i < count; i++) {
            out.add(new Genome(r.ints(units, -1, 2).toArray()));
        }
        return out;
    }

    private static final Minibatch BATCH = new Minibatch(new int[] {0, 4, 8, 2, 6}, new int[] {128, 128, 96, 128, 50});

    @Test
    void sparkGivesTheLocalNumbersBitForBitAndTwiceTheSame() {
        GenomeDecoder decoder = GenomeDecoder.levels(GenomeDecoder.allLinearLayers(5));
        EvaluationSetup setup = EvaluationSetup.of(FitnessFixtures.model(), database, FitnessKind.KL, 4)
            .withDevice("cpu", "auto");
        List<Genome> candidates = genomes(6, decoder.units(), 5);
        FitnessFixtures.StoreOpener opener = new FitnessFixtures.StoreOpener();
        try (SparkCandidateEvaluator spark = new SparkCandidateEvaluator(sc, setup, opener, decoder, pool)) {
            double[] first = spark.evaluate(candidates, BATCH);
            double[] second = spark.evaluate(candidates, BATCH);
            double[] local = new LocalCandidateEvaluator(setup, opener, decoder, pool).evaluate(candidates, BATCH);
            System.out.println("kl fitness: " + Arrays.toString(first) + "\n" + spark.timing());
            assertArrayEquals(local, first);
            assertArrayEquals(first, second);
            // every candidate is compressed (30% to 70% sparsity per layer): KL clearly above 0, all different
            assertTrue(Arrays.stream(first).allMatch(f -> f > 0.01), Arrays.toString(first));
            assertEquals(first.length, Arrays.stream(first).distinct().count());
            EvaluationTiming t = spark.timing();
            assertEquals(2, t.calls());
            assertEquals(12, t.candidates());
            assertTrue(t.forwardNanos() > 0 && t.metricNanos() > 0 && t.stitchNanos() > 0 && t.wallNanos() > 0);
            // grouped tasks (3 candidates each) give the same numbers
            try (SparkCandidateEvaluator grouped = new SparkCandidateEvaluator(sc, setup, opener, decoder, pool, 3)) {
                assertArrayEquals(first, grouped.evaluate(candidates, BATCH));
            }
        }
    }

    @Test
    void depthCandidatesNeedNoDatabaseAndScoreTheirPerplexity() {
        GenomeDecoder decoder = GenomeDecoder.depth(5);
        EvaluationSetup setup = EvaluationSetup.of(FitnessFixtures.model(), null, FitnessKind.PPL, 4)
            .withDevice("cpu", "auto");
        List<Genome> candidates = List.of(new Genome(new int[10]),
            new Genome(new int[] {0, 0, 0, 1, 0, 0, 0, 0, 0, 1}), new Genome(new int[] {1, 1, 0, 0, 0, 0, 0, 0, 1, 1}));
        try (SparkCandidateEvaluator spark = new SparkCandidateEvaluator(sc, setup, null, decoder, pool)) {
            double[] got = spark.evaluate(candidates, BATCH);
            assertArrayEquals(new LocalCandidateEvaluator(setup, null, decoder, pool).evaluate(candidates, BATCH), got);
            System.out.println("depth ppl: " + Arrays.toString(got));
            assertTrue(got[0] < got[1] && got[0] < got[2], "dropping block halves raises perplexity: " + Arrays.toString(got));
        }
    }

    /**
     * Split over several tasks, streamed candidates are grouped by genome in block order before the split, so
     * two families of candidates, each sharing blocks 0-3 and given interleaved, share them within their task:
     * the same numbers as the split in the given order, in fewer block forwards.
     */
    @Test
    void aSplitGroupsCandidatesByPrefixAndKeepsTheirNumbers() {
        GenomeDecoder decoder = GenomeDecoder.levels(GenomeDecoder.allLinearLayers(5));
        EvaluationSetup setup = EvaluationSetup.of(FitnessFixtures.model(), database, FitnessKind.KL, 4)
            .withDevice("cpu", "auto").withResidency(io.evocompress.model.Residency.STREAMED, 0);
        int units = decoder.units();
        List<Genome> bases = genomes(3, units, 11).subList(1, 3);
        Random r = new Random(12);
        List<Genome> candidates = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            for (Genome base : bases) { // A0, B0, A1, B1, ...: each differs from its base in block 4 only
                int[] levels = base.levels();
                for (int u = units - 7; u < units; u++) {
                    levels[u] = r.nextInt(3) - 1;
                }
                candidates.add(new Genome(levels));
            }
        }
        FitnessFixtures.StoreOpener opener = new FitnessFixtures.StoreOpener();
        try (SparkCandidateEvaluator grouped = new SparkCandidateEvaluator(sc, setup, opener, decoder, pool, 4);
             SparkCandidateEvaluator given = new SparkCandidateEvaluator(sc, setup, opener, decoder, pool, 4, false)) {
            double[] a = grouped.evaluate(candidates, BATCH);
            double[] b = given.evaluate(candidates, BATCH);
            assertArrayEquals(b, a);
            double tokens = BATCH.tokens();
            EvaluationTiming g = grouped.timing();
            EvaluationTiming u = given.timing();
            System.out.println("grouped: " + g + "\ngiven order: " + u);
            assertEquals(8 * 5 * tokens, g.naiveBlockTokens());
            assertEquals(8 * 5 * tokens, u.naiveBlockTokens());
            assertEquals(8, g.togetherCandidates());
            // grouped: one task per family, its blocks 0-3 once and block 4 per candidate (at most 2 x (4 + 4));
            // in the given order each task holds two of each family, so both families' prefixes run in both tasks
            assertTrue(g.blockTokens() <= 2 * 8 * tokens, g.toString());
            assertTrue(g.blockTokens() < u.blockTokens(), g + " vs " + u);
        }
    }
}
