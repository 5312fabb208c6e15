package io.evocompress.fitness;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import io.evocompress.EvocompressException;
import io.evocompress.database.LayerVariant;
import io.evocompress.device.DeviceChoice;

import java.util.List;

/**
 * Evaluates candidates where the work runs (a Spark task, or the driver for local evaluation): picks
 * the device, borrows this JVM's candidate model, gets the dense outputs on the pool (computed once
 * per JVM), stitches the candidate and scores it. Everything heavy comes from per-JVM caches loaded
 * from the file system: the model ({@link CandidateModelPool}), the database ({@link VariantSources}),
 * variant weights on the device ({@link VariantArrayCache}), the dense outputs ({@link TeacherOutputs}).
 * The result does not depend on what the borrowed model held before, so a retried task returns the
 * same number.
 */
public final class CandidateWorker {
    private final EvaluationSetup setup;
    private final VariantSourceOpener opener; // null when the domain needs no database (depth)

    public CandidateWorker(EvaluationSetup setup, VariantSourceOpener opener) {
        this.setup = setup;
        this.opener = opener;
    }

    /**
     * @param pool        the calibration pool (the same array for every call of a search)
     * @param poolHash    {@link TeacherOutputs#poolHash} of the pool, computed once by the caller
     * @param assignedGpu the GPU Spark assigned to the task, or null
     */
    public CandidateScore evaluate(CandidateSpec spec, int[][] pool, String poolHash, int[] sequences, int[] lengths,
                                   Integer assignedGpu) {
        return evaluateAlone(spec, pool, poolHash, sequences, lengths, assignedGpu).scores().get(0);
    }

    /**
     * As {@link #evaluate}, with the block-tokens it ran: half a block per half the candidate does not drop,
     * times the minibatch's tokens (alone, nothing is shared).
     */
    public SharedPrefixScorer.Result evaluateAlone(CandidateSpec spec, int[][] pool, String poolHash, int[] sequences,
                                                   int[] lengths, Integer assignedGpu) {
        Device device = DeviceChoice.resolve(setup.device(), assignedGpu);
        DataType dtype = DeviceChoice.dtype(setup.dtype(), device);
        VariantArrayCache cache = VariantArrayCache.shared(setup.variantCacheBytes());
        try (CandidateModelPool.Lease lease = CandidateModelPool.borrow(setup.model(), device, dtype, databaseName(), source(),
                cache)) {
            CandidateModel candidate = lease.model();
            TeacherOutputs teacher = teacher(device, dtype, poolHash, k -> {
                candidate.restoreDense();
                return TeacherOutputs.compute(candidate.model(), pool, k, setup.batchSize(), setup.maxTeacherBytes());
            });
            long t0 = System.nanoTime();
            candidate.apply(spec);
            long stitch = System.nanoTime() - t0;
            CandidateScorer scorer = new CandidateScorer(setup.fitness(), setup.batchSize());
            CandidateScore score = scorer.score(candidate, teacher, pool, sequences, lengths);
            int blocks = candidate.model().numBlocks();
            long tokens = SharedPrefixScorer.tokens(scorer.batches(pool, sequences, lengths), lengths);
            return new SharedPrefixScorer.Result(List.of(new CandidateScore(score.fitness(), score.sum(), score.positions(),
                score.timing().withStitch(stitch))), SharedPrefixScorer.aloneBlockTokens(spec, blocks, tokens),
                (double) blocks * tokens);
        }
    }

    /** Whether this JVM scores candidates streamed ({@link #evaluateTogether}) rather than one at a time. */
    public boolean streams(Integer assignedGpu) {
        Device device = DeviceChoice.resolve(setup.device(), assignedGpu);
        DataType dtype = DeviceChoice.dtype(setup.dtype(), device);
        return setup.residency().forCheckpoints(List.of(setup.model()), device, dtype, setup.deviceMemory(),
            io.evocompress.fs.HadoopFiles.defaultConf()) == io.evocompress.model.Residency.STREAMED;
    }

    /**
     * Scores the specs together on the dense model streamed block by block, each shared prefix once
     * ({@link SharedPrefixScorer}): the scores {@link #evaluate} gives one at a time, bit for bit, and the
     * block-tokens the task ran (shared prefixes once) against one forward per candidate.
     */
    public SharedPrefixScorer.Result evaluateTogether(List<CandidateSpec> specs, int[][] pool, String poolHash,
                                                      int[] sequences, int[] lengths, Integer assignedGpu) {
        Device device = DeviceChoice.resolve(setup.device(), assignedGpu);
        DataType dtype = DeviceChoice.dtype(setup.dtype(), device);
        VariantArrayCache cache = VariantArrayCache.shared(setup.variantCacheBytes());
        try (io.evocompress.model.StreamedLm dense = io.evocompress.model.StreamedLm.open(setup.model(),
                io.evocompress.fs.HadoopFiles.defaultConf(), device, dtype, io.evocompress.model.HostWeightCache.shared(),
                io.evocompress.database.DenseTensorCheck.of(source().tensorSha256(), databaseName()))) {
            TeacherOutputs teacher = teacher(device, dtype, poolHash, k -> TeacherOutputs.compute(dense, pool, k,
                setup.batchSize(), setup.maxTeacherBytes(), io.evocompress.metrics.StreamedScorer.DEFAULT_ACTIVATION_BYTES));
            int seqLen = java.util.Arrays.stream(lengths).max().orElse(0);
            SharedPrefixScorer scorer = new SharedPrefixScorer(setup.fitness(), setup.batchSize(),
                CandidatesAtOnce.width(dense.config(), setup.batchSize(), seqLen, dense.dtype().getNumOfBytes()));
            int atOnce = atOnce(dense, pool, sequences, lengths, seqLen, device);
            long t0 = System.nanoTime();
            SharedPrefixScorer.Result r = scorer.scoreAtMost(atOnce, dense, specs, databaseName(), source(), cache, teacher,
                pool, sequences, lengths);
            long each = (System.nanoTime() - t0) / Math.max(1, specs.size());
            List<CandidateScore> out = new java.util.ArrayList<>();
            for (CandidateScore s : r.scores()) {
                out.add(new CandidateScore(s.fitness(), s.sum(), s.positions(), new FitnessTiming(0, each, 0)));
            }
            return new SharedPrefixScorer.Result(out, r.blockTokens(), r.naiveBlockTokens());
        }
    }

    /**
     * How many candidates this task scores together ({@link CandidatesAtOnce}) within {@code evaluation.device-memory}
     * (else the device's free memory), on this minibatch.
     */
    private int atOnce(io.evocompress.model.StreamedLm dense, int[][] pool, int[] sequences, int[] lengths, int seqLen,
                       Device device) {
        long budget = setup.deviceMemory() > 0 ? setup.deviceMemory() : io.evocompress.device.DeviceMemory.free(device);
        long tokens = SharedPrefixScorer.tokens(new CandidateScorer(setup.fitness(), setup.batchSize())
            .batches(pool, sequences, lengths), lengths);
        return CandidatesAtOnce.max(budget, dense.config(), tokens, setup.batchSize(), seqLen, dense.dtype().getNumOfBytes());
    }

    /** The database's location as the variant cache names it. */
    private String databaseName() {
        return setup.database() == null ? "(no database)" : setup.database();
    }

    /** The JVM's opened variant database, or one that refuses every variant when none was given. */
    private VariantSource source() {
        return setup.database() == null || opener == null ? new NoDatabase() : VariantSources.get(setup.database(), opener);
    }

    /**
     * The dense model's outputs on the pool for the fitness (null when it needs none), computed by
     * {@code compute} (given K) the first time and then cached per model, device, dtype, pool and batching.
     */
    private TeacherOutputs teacher(Device device, DataType dtype, String poolHash,
                                   java.util.function.IntFunction<TeacherOutputs> compute) {
        if (!setup.fitness().needsTeacher()) {
            return null;
        }
        int k = setup.teacherTopK();
        String key = TeacherOutputs.key(setup.model(), device.toString(), dtype.toString(), poolHash, k, setup.batchSize());
        return TeacherOutputs.cached(key, () -> compute.apply(k));
    }

    private static final class NoDatabase implements VariantSource {
        @Override
        public LayerVariant variant(String layer, int level) {
            throw new EvocompressException("Candidate asks for " + layer + " at level " + level
                + " but no variant database was given: pass --database (build it with build-db).");
        }
    }
}
