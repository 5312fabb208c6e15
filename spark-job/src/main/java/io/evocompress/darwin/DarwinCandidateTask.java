package io.evocompress.darwin;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import io.evocompress.checkpoint.CheckpointReader;
import io.evocompress.database.DenseTensorCheck;
import io.evocompress.device.DeviceChoice;
import io.evocompress.fs.HadoopFiles;
import io.evocompress.model.CausalLm;
import io.evocompress.model.ModelConfig;
import io.evocompress.model.ModelLoader;
import io.evocompress.spark.TaskResources;
import io.evocompress.structured.CandidateTraining;
import io.evocompress.structured.StructuredDatabase;
import io.evocompress.structured.StructuredModel;
import io.evocompress.train.AdamW;
import io.evocompress.train.Trainer;
import org.apache.spark.api.java.function.Function;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A Spark task of DarwinLM's training-aware selection: one candidate (its genome, attention levels
 * then MLP levels), stitched from the structured database, fine-tuned on the stage's training
 * sequences, scored by KL to the dense model on the stage's fitness sequences
 * ({@link CandidateTraining}). Returns {KL, NLL per token, first loss, last loss, seconds}. The dense
 * model, its tensors and the database are opened once per executor JVM, each dense tensor the database
 * recorded a SHA-256 for checked as it is read ({@link DenseTensorCheck}: a mismatch fails the task naming
 * the tensor, its file and the database); training holds a per-JVM
 * lock (one DJL gradient collector per JVM), so give executors one task slot each.
 */
final class DarwinCandidateTask implements Function<int[], double[]> {
    private static final long serialVersionUID = 1L;

    private final String model;
    private final String database;
    private final String device;
    private final int[][] training;
    private final int[][] fitness;
    private final double learningRate;

    DarwinCandidateTask(String model, String database, String device, int[][] training, int[][] fitness, double learningRate) {
        this.model = model;
        this.database = database;
        this.device = device;
        this.training = training;
        this.fitness = fitness;
        this.learningRate = learningRate;
    }

    /** What one executor JVM keeps: the dense model (float32), its tensors, the database. */
    record Worker(CausalLm dense, String configJson, ModelConfig config, Map<String, float[]> tensors, StructuredDatabase db)
        implements AutoCloseable {
        @Override
        public void close() {
            dense.close();
        }
    }

    /** The JVM's worker for this model, database and device, held in the {@link io.evocompress.ExecutorCache}. */
    static Worker worker(String model, String database, String device) {
        return io.evocompress.ExecutorCache.get("darwin-workers", model + "|" + database + "|" + device,
            io.evocompress.ExecutorCache.UNBOUNDED, () -> {
            Device d = DeviceChoice.resolve(device, TaskResources.assignedGpu());
            StructuredDatabase db = StructuredDatabase.open(database);
            // each tensor the database recorded a hash for is hashed as it is read and checked (once per JVM)
            DenseTensorCheck check = DenseTensorCheck.of(db.manifest().tensorSha256(), database);
            try (CheckpointReader r = CheckpointReader.open(HadoopFiles.path(model), HadoopFiles.defaultConf())) {
                Map<String, float[]> tensors = new HashMap<>(io.evocompress.model.TensorLayout.readUnits(r, check.reader(r)));
                return new Worker(ModelLoader.load(r, d, DataType.FLOAT32, check), r.configJson(), ModelLoader.config(r),
                    tensors, db);
            }
        });
    }

    @Override
    public double[] call(int[] genome) {
        Worker w = worker(model, database, device);
        int n = genome.length / 2;
        StructuredModel candidate = StructuredModel.of(w.configJson(), w.config(), w.tensors()::get, w.db(),
            Arrays.copyOfRange(genome, 0, n), Arrays.copyOfRange(genome, n, 2 * n));
        Trainer.Settings settings = new Trainer.Settings(learningRate, 0, 0, AdamW.Settings.defaults());
        CandidateTraining.Outcome o = CandidateTraining.run(candidate, w.dense(), List.of(training), List.of(fitness), settings, 8);
        return new double[] {o.klDivergence(), o.nllPerToken(), o.firstLoss(), o.lastLoss(), o.seconds()};
    }
}
