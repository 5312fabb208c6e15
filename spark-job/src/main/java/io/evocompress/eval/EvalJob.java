package io.evocompress.eval;

import io.evocompress.metrics.SequenceScores;
import io.evocompress.model.Residency;
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
        return run(sc, sequences, model, reference, device, dtype, Residency.RESIDENT, 0, batchSize, shards, progress);
    }

    /**
     * As above, each task holding the models as {@code residency} says ({@code AUTO}: streamed when they
     * exceed {@code deviceMemory} bytes, 0 meaning the task's device's free memory).
     */
    public static SequenceScores run(JavaSparkContext sc, List<int[]> sequences, String model, String reference,
                                     String device, String dtype, Residency residency, long deviceMemory, int batchSize,
                                     int shards, Consumer<String> progress) {
        return score(sc, sequences, model, reference, device, dtype, residency, deviceMemory, batchSize, shards, progress)
            .scores();
    }

    /** The scores and the residencies the tasks chose (resident, streamed; one of each at most). */
    public record Scored(SequenceScores scores, java.util.SortedSet<String> residencies) {
    }

    /** As {@link #run(JavaSparkContext, List, String, String, String, String, Residency, long, int, int, Consumer)}, with the tasks' residencies. */
    public static Scored score(JavaSparkContext sc, List<int[]> sequences, String model, String reference,
                               String device, String dtype, Residency residency, long deviceMemory, int batchSize,
                               int shards, Consumer<String> progress) {
        org.apache.spark.util.CollectionAccumulator<String> chosen = sc.sc().collectionAccumulator("residency");
        int n = Math.max(1, Math.min(shards, sequences.size()));
        Broadcast<int[][]> broadcast = sc.broadcast(sequences.toArray(new int[0][]));
        JobProgress watch = new JobProgress(sc, "scoring " + sequences.size() + " sequences", 2000, progress);
        try (watch) {
            List<ShardRange> ranges = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                ranges.add(new ShardRange(i, n));
            }
            SequenceScores scores = sc.parallelize(ranges, n)
                .map(new ScoreShard(model, reference, device, dtype, batchSize, broadcast, residency, deviceMemory, chosen))
                .reduce(SequenceScores::plus);
            return new Scored(scores, new java.util.TreeSet<>(chosen.value()));
        } finally {
            broadcast.destroy();
        }
    }
}
