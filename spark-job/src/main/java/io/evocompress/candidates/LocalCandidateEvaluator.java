package io.evocompress.candidates;

import io.evocompress.EvocompressException;
import io.evocompress.fitness.CandidateWorker;
import io.evocompress.fitness.EvaluationSetup;
import io.evocompress.fitness.GenomeDecoder;
import io.evocompress.fitness.SharedPrefixScorer;
import io.evocompress.fitness.TeacherOutputs;
import io.evocompress.fitness.VariantSourceOpener;
import io.evocompress.search.CandidateEvaluator;
import io.evocompress.search.Genome;
import io.evocompress.search.Minibatch;

import java.util.List;

/**
 * Evaluates candidates in this JVM, one after the other, with exactly the worker code a Spark task
 * runs ({@link CandidateWorker}), so its numbers are the Spark evaluator's, bit for bit. For tests,
 * small models, and runs without Spark. Its "task time" is the worker's time per candidate.
 */
public final class LocalCandidateEvaluator implements CandidateEvaluator {
    private final CandidateWorker worker;
    private final GenomeDecoder decoder;
    private final int[][] pool;
    private final String poolHash;
    private EvaluationTiming timing = EvaluationTiming.ZERO;

    public LocalCandidateEvaluator(EvaluationSetup setup, VariantSourceOpener opener, GenomeDecoder decoder, int[][] pool) {
        if (pool.length == 0) {
            throw new EvocompressException("the calibration pool is empty: candidates need tokens to be scored on");
        }
        this.worker = new CandidateWorker(setup, opener);
        this.decoder = decoder;
        this.pool = pool.clone();
        this.poolHash = TeacherOutputs.poolHash(pool);
    }

    @Override
    public synchronized double[] evaluate(List<Genome> candidates, Minibatch batch) {
        long t0 = System.nanoTime();
        CandidateResult[] results = new CandidateResult[candidates.size()];
        double[] fitness = new double[candidates.size()];
        for (Genome g : candidates) {
            if (g.size() != decoder.units()) {
                throw new EvocompressException("A candidate genome has " + g.size() + " units but the evaluator's domain has "
                    + decoder.units() + ": the search and the evaluator were built for different domains.");
            }
        }
        if (worker.streams(null)) {
            List<io.evocompress.fitness.CandidateSpec> specs = candidates.stream().map(g -> decoder.decode(g.levels())).toList();
            SharedPrefixScorer.Result r = worker.evaluateTogether(specs, pool, poolHash, batch.sequences(), batch.lengths(), null);
            long each = (System.nanoTime() - t0) / Math.max(1, candidates.size());
            for (int i = 0; i < candidates.size(); i++) {
                results[i] = CandidateResult.of(i, r.scores().get(i), each, i == 0 ? r.blockTokens() : 0,
                    i == 0 ? r.naiveBlockTokens() : 0, true);
                fitness[i] = r.scores().get(i).fitness();
            }
            timing = timing.plus(results, System.nanoTime() - t0);
            return fitness;
        }
        for (int i = 0; i < candidates.size(); i++) {
            Genome g = candidates.get(i);
            if (g.size() != decoder.units()) {
                throw new EvocompressException("A candidate genome has " + g.size() + " units but the evaluator's domain has "
                    + decoder.units() + ": the search and the evaluator were built for different domains.");
            }
            long start = System.nanoTime();
            SharedPrefixScorer.Result r = worker.evaluateAlone(decoder.decode(g.levels()), pool, poolHash, batch.sequences(),
                batch.lengths(), null);
            results[i] = CandidateResult.of(i, r.scores().get(0), System.nanoTime() - start, r.blockTokens(),
                r.naiveBlockTokens(), false);
            fitness[i] = r.scores().get(0).fitness();
        }
        timing = timing.plus(results, System.nanoTime() - t0);
        return fitness;
    }

    public synchronized EvaluationTiming timing() {
        return timing;
    }
}
