package io.evocompress.fitness;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import io.evocompress.Fixtures;
import io.evocompress.calibration.CalibrationFixtures;
import io.evocompress.fs.HadoopFiles;
import io.evocompress.model.CausalLm;
import io.evocompress.model.HostWeightCache;
import io.evocompress.model.StreamedLm;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Candidates scored together with the dense weights streamed and shared prefixes computed once give each
 * candidate the resident one-at-a-time score bit for bit (KL and perplexity, sparsity levels and dropped
 * halves), and run fewer block-tokens than one forward per candidate: each distinct prefix of half blocks once.
 */
class SharedPrefixScorerTest {
    private static final int BATCH = 4;
    private static final int[] SEQS = {3, 7, 0, 9, 5, 1};
    private static final int[] LENS = {128, 96, 60, 60, 17, 128};

    /** The rule's closed form: a budget of the fixed part plus k + 1 prefixes' hidden states fits k candidates. */
    @Test
    void candidatesAtOnceFitTheDeviceBudget() {
        try (StreamedLm dense = StreamedLm.open(Fixtures.stories260k().toString(), HadoopFiles.defaultConf(), Device.cpu(),
                DataType.FLOAT32, new HostWeightCache(1L << 30))) {
            io.evocompress.model.ModelConfig c = dense.config();
            long tokens = 2048;
            long fixed = CandidatesAtOnce.fixedBytes(c, 8, 256, 4);
            long perPrefix = tokens * c.hiddenSize() * 4;
            // one block's dense weights and one group's variants: twice its linear layers' parameters, in float32
            assertTrue(fixed > 2 * c.linearParamsPerBlock() * 4 + (long) c.vocabSize() * c.embedDim() * 4, "fixed " + fixed);
            for (int k : new int[] {1, 4, 17}) {
                assertEquals(k, CandidatesAtOnce.max(fixed + (k + 1) * perPrefix, c, tokens, 8, 256, 4));
                assertEquals(k, CandidatesAtOnce.max(fixed + (k + 2) * perPrefix - 1, c, tokens, 8, 256, 4));
            }
            assertEquals(1, CandidatesAtOnce.max(fixed, c, tokens, 8, 256, 4), "at least one, even when nothing fits");
        }
    }

    @Test
    void sharedPrefixScoresAreTheResidentOnes() {
        int[][] pool = FitnessFixtures.pool();
        TeacherOutputs teacher;
        try (CausalLm dense = CalibrationFixtures.load(Fixtures.stories260k())) {
            teacher = TeacherOutputs.compute(dense, pool, 0, BATCH, Long.MAX_VALUE);
        }
        CandidateSpec a = CandidateModelTest.randomSpec(7);
        // b: a's levels except in the last block (shares a's prefix up to there)
        Map<String, Integer> levels = new HashMap<>(a.levels());
        int last = 4;
        for (String layer : FitnessFixtures.layers()) {
            if (layer.startsWith("model.layers." + last + ".")) {
                levels.put(layer, 1);
            }
        }
        CandidateSpec b = CandidateSpec.ofLevels(levels);
        // mlp: a's levels except block 4's down_proj (shares a's prefix up to block 4's MLP half)
        Map<String, Integer> mlpOnly = new HashMap<>(a.levels());
        String down = "model.layers." + last + ".mlp.down_proj";
        mlpOnly.put(down, Integer.valueOf(1).equals(a.level(down)) ? 0 : 1);
        CandidateSpec mlp = CandidateSpec.ofLevels(mlpOnly);
        boolean[] skipMlp = new boolean[5];
        skipMlp[2] = true;
        CandidateSpec depth = new CandidateSpec(a.levels(), null, skipMlp);
        boolean[] whole = new boolean[5];
        whole[3] = true;
        CandidateSpec dropped = new CandidateSpec(a.levels(), whole, whole);   // block 3 dropped whole
        // dropped's twin: other levels in the dropped block 3 only, so the same model (it shares all of dropped's work)
        Map<String, Integer> twinLevels = new HashMap<>(a.levels());
        for (String layer : FitnessFixtures.layers()) {
            if (layer.startsWith("model.layers.3.")) {
                twinLevels.put(layer, -1);
            }
        }
        CandidateSpec twin = new CandidateSpec(twinLevels, whole, whole);
        List<CandidateSpec> specs = List.of(CandidateSpec.dense(), a, b, a, CandidateModelTest.randomSpec(8), depth, dropped,
            twin, mlp);
        try (VariantArrayCache cache = new VariantArrayCache(1L << 30)) {
            for (FitnessKind kind : List.of(FitnessKind.KL, FitnessKind.PPL)) {
                List<CandidateScore> resident = new ArrayList<>();
                for (CandidateSpec spec : specs) {
                    try (CandidateModel m = new CandidateModel(CalibrationFixtures.load(Fixtures.stories260k()), true, "memory",
                            new FitnessFixtures.MapSource(), cache)) {
                        m.apply(spec);
                        resident.add(new CandidateScorer(kind, BATCH).score(m, teacher, pool, SEQS, LENS));
                    }
                }
                SharedPrefixScorer.Result shared;
                try (StreamedLm dense = StreamedLm.open(Fixtures.stories260k().toString(), HadoopFiles.defaultConf(),
                        Device.cpu(), DataType.FLOAT32, new HostWeightCache(1L << 30))) {
                    shared = new SharedPrefixScorer(kind, BATCH).score(dense, specs, "memory", new FitnessFixtures.MapSource(),
                        cache, teacher, pool, SEQS, LENS);
                }
                for (int c = 0; c < specs.size(); c++) {
                    assertEquals(resident.get(c).positions(), shared.scores().get(c).positions());
                    assertEquals(Double.doubleToLongBits(resident.get(c).sum()), Double.doubleToLongBits(shared.scores().get(c).sum()),
                        kind + " candidate " + c + ": shared " + shared.scores().get(c).sum() + " vs resident " + resident.get(c).sum());
                }
                assertTrue(resident.get(1).fitness() > resident.get(0).fitness(), "a compressed candidate scores worse than dense");
                long tokens = Arrays.stream(LENS).sum();
                // 9 candidates x 5 blocks naive; shared half block by half block: a and its copy share everything,
                // b shares blocks 0-3 with a, depth shares blocks 0-1 and block 2's attention half with a and drops
                // block 2's MLP half, dropped shares blocks 0-2 with a and drops block 3, its twin shares everything
                // with it, mlp shares all but block 4's MLP half with a: 5 (dense) + 5 (a) + 1 (b) + 5 (random)
                // + 2 (depth: blocks 3-4) + 1 (dropped: block 4) + 0.5 (mlp)
                assertEquals(9.0 * 5 * tokens, shared.naiveBlockTokens());
                assertEquals(19.5 * tokens, shared.blockTokens(), 1e-9);
                assertEquals(SharedPrefixScorer.aloneBlockTokens(depth, 5, tokens), 4.5 * tokens);

                // at most 3 at once (CandidatesAtOnce): groups {dense, a, b}, {a, random, depth}, {dropped, twin, mlp}
                // give the same scores bit for bit, with less shared: 5 + 5 + 1, then 5 + 5 + 2, then 4 (dropped:
                // blocks 0-2 and 4) + 0 (its twin) + 2 (mlp: blocks 3-4, where it parts from dropped)
                SharedPrefixScorer.Result threes;
                try (StreamedLm dense = StreamedLm.open(Fixtures.stories260k().toString(), HadoopFiles.defaultConf(),
                        Device.cpu(), DataType.FLOAT32, new HostWeightCache(1L << 30))) {
                    threes = new SharedPrefixScorer(kind, BATCH).scoreAtMost(3, dense, specs, "memory",
                        new FitnessFixtures.MapSource(), cache, teacher, pool, SEQS, LENS);
                }
                for (int c = 0; c < specs.size(); c++) {
                    assertEquals(Double.doubleToLongBits(resident.get(c).sum()), Double.doubleToLongBits(threes.scores().get(c).sum()),
                        kind + " candidate " + c + " scored 3 at once");
                }
                assertEquals(9.0 * 5 * tokens, threes.naiveBlockTokens());
                assertEquals(29.0 * tokens, threes.blockTokens(), 1e-9);

                // children that compute the same half run together, their states concatenated along the batch
                // dimension (at most `width` per call): the same scores bit for bit and the same work
                for (int width : new int[] {2, 16}) {
                    SharedPrefixScorer.Result wide;
                    try (StreamedLm dense = StreamedLm.open(Fixtures.stories260k().toString(), HadoopFiles.defaultConf(),
                            Device.cpu(), DataType.FLOAT32, new HostWeightCache(1L << 30))) {
                        wide = new SharedPrefixScorer(kind, BATCH, width).score(dense, specs, "memory",
                            new FitnessFixtures.MapSource(), cache, teacher, pool, SEQS, LENS);
                    }
                    for (int c = 0; c < specs.size(); c++) {
                        assertEquals(Double.doubleToLongBits(resident.get(c).sum()), Double.doubleToLongBits(wide.scores().get(c).sum()),
                            kind + " candidate " + c + " at width " + width + ": " + wide.scores().get(c).sum() + " vs resident "
                                + resident.get(c).sum());
                    }
                    assertEquals(19.5 * tokens, wide.blockTokens(), 1e-9);
                }
            }
        }
    }
}
