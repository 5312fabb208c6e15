package io.evocompress.plan;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.evocompress.Fixtures;
import io.evocompress.builddb.BuildDbJob;
import io.evocompress.builddb.BuildDbSettings;
import io.evocompress.calibrate.CalibrationText;
import io.evocompress.config.JobConfig;
import io.evocompress.config.ModelConfigReader;
import io.evocompress.data.TokenSequences;
import io.evocompress.fitness.CandidateModelPool;
import io.evocompress.fitness.CandidateSpec;
import io.evocompress.fitness.CandidateWorker;
import io.evocompress.fitness.DatabaseOpener;
import io.evocompress.fitness.EvaluationSetup;
import io.evocompress.fitness.FitnessKind;
import io.evocompress.fitness.TeacherOutputs;
import io.evocompress.fitness.VariantArrayCache;
import io.evocompress.fitness.VariantSources;
import io.evocompress.model.Architecture;
import io.evocompress.model.ArchitectureRegistry;
import io.evocompress.model.LinearName;
import io.evocompress.model.ModelConfig;
import io.evocompress.spark.SparkContexts;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * {@code plan}'s resident device memory against a measured peak on both fixtures: the bytes of the live
 * NDArrays a candidate task holds (its candidate model's manager tree: the weights, the displaced dense
 * layers, the forward's and the metric's temporaries, the teacher's slice; plus the task's variant
 * cache) while a candidate with every layer
 * replaced, on the CPU in float32, over one batch of 8 x 64 tokens, counted at every linear layer's input of
 * a block-by-block forward and after the metric (deterministic; asserted), and also polled by a second thread
 * during the worker's own scoring (printed only: it races the forward). A view counts its full size.
 */
class PlanMemoryTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void residentPeakWithinThirtyPercentOfTheMeasuredPeak(@TempDir Path tmp) throws Exception {
        Fixtures.root();
        try (JavaSparkContext sc = SparkContexts.start("plan-memory-test")) {
            for (Path model : List.of(Fixtures.stories260k(), Fixtures.babyllama105())) {
                Path db = tmp.resolve("db-" + model.getFileName());
                ObjectNode tree = searchConfig(model, tmp.resolve("run-" + model.getFileName()), db).tree();
                tree.remove("plan");
                BuildDbSettings settings = io.evocompress.evopress.SearchSettings.from(JobConfig.of(tree, "search", List.of())).buildDb();
                BuildDbJob.run(sc, settings, line -> { });
                ObjectNode plan = Planner.plan(searchConfig(model, tmp.resolve("run-" + model.getFileName()), db), null);
                long planned = plan.get("resident_device_bytes").asLong();
                long measured = measuredPeak(model, db);
                System.err.printf("plan resident_device_bytes %s: planned %d, measured peak %d (%.3f)%n", model.getFileName(),
                    planned, measured, (double) planned / measured);
                assertEquals(measured, planned, 0.3 * measured, model.getFileName().toString());
            }
        }
    }

    private static JobConfig searchConfig(Path model, Path out, Path db) {
        ObjectNode root = JSON.createObjectNode();
        root.put("model", model.toString());
        root.put("output", out.toString());
        root.putObject("domain").put("kind", "sparsity").put("target", 0.7);
        root.putObject("calibration").put("data", Fixtures.text("tinystories_train_head.txt").toString())
            .put("sequences", 16).put("seq-len", 64).put("shards", 2);
        root.putObject("database").put("path", db.toString()).put("max-level", 2);
        root.putObject("heldout").put("data", Fixtures.text("tinystories_sample.txt").toString());
        root.putObject("search").put("preset", "fast").put("batch-size", 8).put("stages", "1@512,1@1024").put("initial-tokens", 512);
        root.putObject("plan").put("dtype", "float32");
        return JobConfig.of(root, "plan memory test", List.of());
    }

    /** The peak bytes of live arrays while one candidate (every layer at level 1 or -1) is scored on 8 x 64 tokens. */
    private static long measuredPeak(Path model, Path db) throws Exception {
        EvaluationSetup setup = new EvaluationSetup(model.toString(), db.toString(), "cpu", "float32", FitnessKind.KL,
            EvaluationSetup.DEFAULT_TOP_K, 8, EvaluationSetup.DEFAULT_VARIANT_CACHE_BYTES, EvaluationSetup.DEFAULT_MAX_TEACHER_BYTES);
        int[][] pool = TokenSequences.sample(CalibrationText.tokens(model.toString(),
            Fixtures.text("tinystories_train_head.txt").toString()), 64, 16 * 64, 0).toArray(new int[0][]);
        String poolHash = TeacherOutputs.poolHash(pool);
        int[] sequences = {0, 1, 2, 3, 4, 5, 6, 7};
        int[] lengths = {64, 64, 64, 64, 64, 64, 64, 64};
        CandidateWorker worker = new CandidateWorker(setup, new DatabaseOpener());
        worker.evaluate(CandidateSpec.dense(), pool, poolHash, sequences, lengths, null); // loads the model, the teacher
        VariantArrayCache cache = VariantArrayCache.shared(setup.variantCacheBytes());
        NDManager manager;
        try (CandidateModelPool.Lease lease = CandidateModelPool.borrow(model.toString(), Device.cpu(), DataType.FLOAT32,
                db.toString(), VariantSources.get(db.toString(), new DatabaseOpener()), cache)) {
            manager = lease.model().model().manager();
        }
        ModelConfig config = ModelConfigReader.CONFIG_JSON.read(model.toString()).config();
        Architecture arch = ArchitectureRegistry.forType(config.modelType(), "test");
        Map<String, Integer> levels = new TreeMap<>();
        int i = 0;
        for (int b = 0; b < config.numLayers(); b++) {
            for (LinearName n : arch.linears(config)) {
                levels.put(arch.unitName(b, n), i++ % 2 == 0 ? 1 : -1);
            }
        }
        AtomicLong peak = new AtomicLong();
        AtomicBoolean done = new AtomicBoolean();
        Thread poll = new Thread(() -> {
            while (!done.get()) {
                peak.accumulateAndGet(live(manager, cache), Math::max);
            }
        });
        poll.start();
        try {
            for (int r = 0; r < 3; r++) {
                worker.evaluate(CandidateSpec.ofLevels(levels), pool, poolHash, sequences, lengths, null);
            }
        } finally {
            done.set(true);
            poll.join();
        }
        long polled = peak.get();
        // the same forward block by block, counted at every linear layer's input (the block's temporaries so far),
        // then the head with the teacher's slice and the metric's log-softmax
        long stepped = 0;
        try (CandidateModelPool.Lease lease = CandidateModelPool.borrow(model.toString(), Device.cpu(), DataType.FLOAT32,
                db.toString(), VariantSources.get(db.toString(), new DatabaseOpener()), cache)) {
            lease.model().apply(CandidateSpec.ofLevels(levels));
            io.evocompress.model.CausalLm lm = lease.model().model();
            TeacherOutputs teacher = TeacherOutputs.compute(lm, pool, 0, 8, EvaluationSetup.DEFAULT_MAX_TEACHER_BYTES);
            AtomicLong most = new AtomicLong();
            try (NDManager scope = manager.newSubManager()) {
                int[] flat = new int[8 * 64];
                for (int s = 0; s < 8; s++) {
                    System.arraycopy(pool[s], 0, flat, s * 64, 64);
                }
                NDArray h = lm.embed(scope.create(flat, new ai.djl.ndarray.types.Shape(8, 64)));
                for (int b = 0; b < lm.numBlocks(); b++) {
                    h = lm.runBlock(h, b, (name, input) -> most.accumulateAndGet(live(manager, cache), Math::max));
                }
                NDArray logits = lm.head(h);
                NDArray p = teacher.logProbs(scope, sequences, 64);
                NDArray logq = logits.get(":, :63, :").logSoftmax(-1);
                NDArray terms = p.exp().mul(p.sub(logq));
                most.accumulateAndGet(live(manager, cache), Math::max);
                terms.close();
            }
            stepped = most.get();
        }
        // the polled figure races the forward (on a loaded machine it has read 35% above the stepped count, which
        // it otherwise matches within a few percent): printed, not asserted on; the stepped count is deterministic
        System.err.printf("measured peak %s: polled %d, stepped %d%n", model.getFileName(), polled, stepped);
        return stepped;
    }

    /** Bytes of the live arrays under the candidate model's manager (views in full) and in the variant cache. */
    private static long live(NDManager manager, VariantArrayCache cache) {
        long bytes = cache.bytes();
        for (NDArray a : manager.getManagedArrays()) {
            try {
                bytes += a.size() * a.getDataType().getNumOfBytes();
            } catch (RuntimeException closed) {
                // freed while counted
            }
        }
        return bytes;
    }
}
