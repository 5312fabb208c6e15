package io.evocompress.fitness;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import io.evocompress.checkpoint.CheckpointReader;
import io.evocompress.database.DenseTensorCheck;
import io.evocompress.fs.HadoopFiles;
import io.evocompress.model.CausalLm;
import io.evocompress.model.ModelLoader;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Candidate models lent to tasks, per JVM: a task borrows one (loading the dense model from the file
 * system the first time, never sharing the read-only models of {@code ModelCache}), applies its
 * candidate, scores it and gives it back still stitched, so the next task changes only the layers
 * that differ. Two concurrent tasks in one executor get two models. Registered with the
 * {@link io.evocompress.ExecutorCache} (kind {@code candidate-models}), which closes them.
 */
public final class CandidateModelPool {
    private static final Map<String, Deque<CandidateModel>> IDLE = new HashMap<>();
    private static final List<CandidateModel> ALL = new ArrayList<>();

    static {
        io.evocompress.ExecutorCache.register("candidate-models", CandidateModelPool::clear);
    }

    private CandidateModelPool() {
    }

    /** A lent candidate model; closing the lease gives it back. */
    public static final class Lease implements AutoCloseable {
        private final String key;
        private final CandidateModel model;

        private Lease(String key, CandidateModel model) {
            this.key = key;
            this.model = model;
        }

        public CandidateModel model() {
            return model;
        }

        @Override
        public void close() {
            giveBack(key, model);
        }
    }

    public static Lease borrow(String modelLocation, Device device, DataType dtype, String database, VariantSource source,
                               VariantArrayCache cache) {
        String key = HadoopFiles.path(modelLocation) + "|" + device + "|" + dtype + "|" + database;
        synchronized (CandidateModelPool.class) {
            Deque<CandidateModel> idle = IDLE.get(key);
            if (idle != null && !idle.isEmpty()) {
                return new Lease(key, idle.pop());
            }
        }
        CausalLm lm;
        try (CheckpointReader reader = CheckpointReader.open(HadoopFiles.path(modelLocation), HadoopFiles.defaultConf())) {
            // the dense weights must be those the database was built from: hashed as they are read
            lm = ModelLoader.load(reader, device, dtype,
                DenseTensorCheck.of(source.tensorSha256(), database));
        }
        CandidateModel model = new CandidateModel(lm, true, database, source, cache);
        synchronized (CandidateModelPool.class) {
            ALL.add(model);
        }
        return new Lease(key, model);
    }

    private static synchronized void giveBack(String key, CandidateModel model) {
        IDLE.computeIfAbsent(key, k -> new ArrayDeque<>()).push(model);
    }

    /** Closes every idle model and forgets all of them (models still lent out are closed too). */
    public static synchronized void clear() {
        for (CandidateModel m : ALL) {
            try {
                m.close();
            } catch (RuntimeException ignored) {
                // already closed, or the engine is shutting down
            }
        }
        ALL.clear();
        IDLE.clear();
    }
}
