package io.evocompress.candidates;

import io.evocompress.EvocompressException;
import io.evocompress.fitness.EvaluationSetup;
import io.evocompress.fitness.GenomeDecoder;
import io.evocompress.fitness.TeacherOutputs;
import io.evocompress.fitness.VariantSourceOpener;
import io.evocompress.search.CandidateEvaluator;
import io.evocompress.search.Genome;
import io.evocompress.search.Minibatch;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;

import java.util.ArrayList;
import java.util.List;

/**
 * Evaluates candidates on Spark: every evaluate() call runs one job whose tasks each take
 * {@code candidatesPerTask} candidates (default 1: one task per candidate; when there are several tasks,
 * consecutive in genome order, block by block, so those with a common prefix share a task: {@link TaskSlices}), stitch them
 * on the executor's device from the variant database and score them ({@link EvaluateCandidates}).
 * The calibration pool (token ids) is broadcast once, at construction; weights are never shipped.
 * Results come back in candidate order, and are deterministic: the same candidates on the same
 * minibatch give the same numbers, bit for bit, whichever executor or retry computes them.
 *
 * <p>Close it to release the broadcast pool.
 */
public final class SparkCandidateEvaluator implements CandidateEvaluator, AutoCloseable {
    private final JavaSparkContext sc;
    private final EvaluationSetup setup;
    private final VariantSourceOpener opener;
    private final GenomeDecoder decoder;
    private final Broadcast<int[][]> pool;
    private final String poolHash;
    private final int candidatesPerTask;
    private final boolean groupByPrefix;
    private EvaluationTiming timing = EvaluationTiming.ZERO;

    /**
     * @param opener opens the database at {@code setup.database()} on executors (null when the domain
     *               needs none: depth)
     * @param pool   the calibration pool's token ids
     */
    public SparkCandidateEvaluator(JavaSparkContext sc, EvaluationSetup setup, VariantSourceOpener opener,
                                   GenomeDecoder decoder, int[][] pool) {
        this(sc, setup, opener, decoder, pool, 1);
    }

    public SparkCandidateEvaluator(JavaSparkContext sc, EvaluationSetup setup, VariantSourceOpener opener,
                                   GenomeDecoder decoder, int[][] pool, int candidatesPerTask) {
        this(sc, setup, opener, decoder, pool, candidatesPerTask, true);
    }

    /** {@code groupByPrefix} false: the tasks take the candidates in the order given (tests compare the two). */
    SparkCandidateEvaluator(JavaSparkContext sc, EvaluationSetup setup, VariantSourceOpener opener,
                            GenomeDecoder decoder, int[][] pool, int candidatesPerTask, boolean groupByPrefix) {
        if (candidatesPerTask < 1) {
            throw new EvocompressException("candidates per task must be at least 1, but was " + candidatesPerTask);
        }
        if (pool.length == 0) {
            throw new EvocompressException("the calibration pool is empty: candidates need tokens to be scored on");
        }
        this.sc = sc;
        this.setup = setup;
        this.opener = opener;
        this.decoder = decoder;
        this.poolHash = TeacherOutputs.poolHash(pool);
        this.pool = sc.broadcast(pool);
        this.candidatesPerTask = candidatesPerTask;
        this.groupByPrefix = groupByPrefix;
    }

    @Override
    public double[] evaluate(List<Genome> candidates, Minibatch batch) {
        if (candidates.isEmpty()) {
            return new double[0];
        }
        long t0 = System.nanoTime();
        List<CandidateTask> tasks = new ArrayList<>();
        for (int i = 0; i < candidates.size(); i++) {
            tasks.add(new CandidateTask(i, checked(candidates.get(i)).levels()));
        }
        int slices = TaskSlices.count(tasks.size(), candidatesPerTask);
        if (slices > 1 && groupByPrefix) {
            // candidates with a common prefix in the same task, so sharing survives the split
            List<CandidateTask> sorted = new ArrayList<>();
            for (int i : TaskSlices.grouped(tasks.stream().map(CandidateTask::levels).toList(), decoder.blockOrder())) {
                sorted.add(tasks.get(i));
            }
            tasks = sorted;
        }
        sc.setJobDescription("evaluating " + tasks.size() + " candidates on " + batch.tokens() + " tokens");
        List<CandidateResult> results = sc.parallelize(tasks, slices)
            .mapPartitions(new EvaluateCandidates(setup, opener, decoder, pool, poolHash, batch.sequences(), batch.lengths()))
            .collect();
        CandidateResult[] ordered = new CandidateResult[tasks.size()];
        for (CandidateResult r : results) {
            ordered[r.index()] = r;
        }
        double[] fitness = new double[ordered.length];
        for (int i = 0; i < ordered.length; i++) {
            fitness[i] = ordered[i].fitness();
        }
        synchronized (this) {
            timing = timing.plus(ordered, System.nanoTime() - t0);
        }
        return fitness;
    }

    private Genome checked(Genome g) {
        if (g.size() != decoder.units()) {
            throw new EvocompressException("A candidate genome has " + g.size() + " units but the evaluator's domain has "
                + decoder.units() + ": the search and the evaluator were built for different domains.");
        }
        return g;
    }

    /** Time spent so far, over every evaluate() call. */
    public synchronized EvaluationTiming timing() {
        return timing;
    }

    @Override
    public void close() {
        pool.destroy();
    }
}
