package io.evocompress.candidates;

import io.evocompress.fitness.CandidateWorker;
import io.evocompress.fitness.EvaluationSetup;
import io.evocompress.fitness.GenomeDecoder;
import io.evocompress.fitness.SharedPrefixScorer;
import io.evocompress.fitness.VariantSourceOpener;
import io.evocompress.spark.TaskResources;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.broadcast.Broadcast;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * A Spark task: evaluates its partition's candidates on the task's device, one after the other on
 * the executor's candidate model, or (streamed) all together on the dense model streamed block by block,
 * shared prefixes once ({@link CandidateWorker}). Ships only small things: the setup,
 * the decoder, the opener, the minibatch, and the broadcast pool; weights are read from the file
 * system by each executor JVM.
 */
public final class EvaluateCandidates implements FlatMapFunction<Iterator<CandidateTask>, CandidateResult> {
    private static final long serialVersionUID = 1L;

    private final EvaluationSetup setup;
    private final VariantSourceOpener opener;
    private final GenomeDecoder decoder;
    private final Broadcast<int[][]> pool;
    private final String poolHash;
    private final int[] sequences;
    private final int[] lengths;

    public EvaluateCandidates(EvaluationSetup setup, VariantSourceOpener opener, GenomeDecoder decoder,
                              Broadcast<int[][]> pool, String poolHash, int[] sequences, int[] lengths) {
        this.setup = setup;
        this.opener = opener;
        this.decoder = decoder;
        this.pool = pool;
        this.poolHash = poolHash;
        this.sequences = sequences.clone();
        this.lengths = lengths.clone();
    }

    @Override
    public Iterator<CandidateResult> call(Iterator<CandidateTask> tasks) {
        CandidateWorker worker = new CandidateWorker(setup, opener);
        Integer gpu = TaskResources.assignedGpu();
        int[][] tokens = pool.value();
        List<CandidateResult> out = new ArrayList<>();
        if (worker.streams(gpu)) {
            // the partition's candidates together on the streamed dense model, shared prefixes once
            List<CandidateTask> mine = new ArrayList<>();
            tasks.forEachRemaining(mine::add);
            long t0 = System.nanoTime();
            List<io.evocompress.fitness.CandidateSpec> specs = mine.stream().map(t -> decoder.decode(t.levels())).toList();
            SharedPrefixScorer.Result r = worker.evaluateTogether(specs, tokens, poolHash, sequences, lengths, gpu);
            long each = (System.nanoTime() - t0) / Math.max(1, mine.size());
            for (int i = 0; i < mine.size(); i++) {
                // the task's work on its first result, so the sums over results are exact
                out.add(CandidateResult.of(mine.get(i).index(), r.scores().get(i), each, i == 0 ? r.blockTokens() : 0,
                    i == 0 ? r.naiveBlockTokens() : 0, true));
            }
            return out.iterator();
        }
        while (tasks.hasNext()) {
            CandidateTask task = tasks.next();
            long t0 = System.nanoTime();
            SharedPrefixScorer.Result r = worker.evaluateAlone(decoder.decode(task.levels()), tokens, poolHash, sequences,
                lengths, gpu);
            out.add(CandidateResult.of(task.index(), r.scores().get(0), System.nanoTime() - t0, r.blockTokens(),
                r.naiveBlockTokens(), false));
        }
        return out.iterator();
    }
}
