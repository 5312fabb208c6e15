package io.evocompress.eval;

import io.evocompress.metrics.SequenceScores;
import io.evocompress.spark.JobProgress;
import io.evocompress.spark.ShardRange;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * Scores token sequences on Spark: the sequences (small: token ids) are broadcast, each task scores
 * one shard on its executor's device, and the partial sums are added on the driver.
 */
public final class EvalJob {
    private EvalJob() {
    }

    public static SequenceScores run(JavaSparkContext sc, List<int[]> sequences, String model, String reference,
                                     String device, String dtype, int batchSize, int shards, Consumer<String> progress) {
        int n = Math.max(1, Math.min(shards, sequences.size()));
        Broadcast<int[][]> broadcast = sc.broadcast(sequences.toArray(new int[0][]));
        JobProgress watch = new JobProgress(sc, "scoring " + sequences.size() + " sequences", 2000, progress);
        try (watch) {
            List<ShardRange> ranges = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                ranges.add(new ShardRange(i, n));
            }
            return sc.parallelize(ranges, n)
                .map(new ScoreShard(model, reference, device, dtype, batchSize, broadcast))
                .reduce(SequenceScores::plus);
        } finally {
            broadcast.destroy();
        }
    }
}
