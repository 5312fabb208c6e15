package io.evocompress.structured;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import io.evocompress.checkpoint.CheckpointReader;
import io.evocompress.fs.HadoopFiles;
import io.evocompress.model.CausalLm;
import io.evocompress.model.ModelLoader;
import io.evocompress.train.DistillationLoss;
import io.evocompress.train.NextTokenLoss;
import io.evocompress.train.TokenBatches;
import io.evocompress.train.Trainer;
import io.evocompress.train.TrainingObjective;
import io.evocompress.train.TrainingState;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.util.function.Consumer;

/**
 * Post-compression training of a structurally pruned model (ALGORITHMS.md section 5) for a token
 * budget: {@code steps = ceil(tokens / (batch * seqLen))} AdamW steps over seeded batches of the
 * training stream, language-modelling loss or distillation from the dense model. The state (weights,
 * moments, step) is saved every {@code checkpointEvery} steps and at the end under {@code stateDir};
 * a run finding a state there continues from it and ends exactly as an uninterrupted one.
 */
public final class PostTraining {
    private PostTraining() {
    }

    /** Training settings: tokens budget, objective ("lm" or "distill"), optimizer, batch shape. */
    public record Settings(long tokens, String objective, Trainer.Settings trainer, int batchSize, int seqLen,
                           int checkpointEvery, long seed) {
        public long steps() {
            return (tokens + (long) batchSize * seqLen - 1) / ((long) batchSize * seqLen);
        }
    }

    /**
     * Trains {@code start} (or the saved state) and returns the trained model (caller closes it).
     *
     * @param configJson the smaller model's config.json
     */
    public static CausalLm run(StructuredModel start, String configJson, CausalLm dense, int[] stream, Settings s,
                               FileSystem fs, Path stateDir, Device device, Consumer<String> progress) {
        boolean resume = HadoopFiles.exists(fs, new Path(stateDir, TrainingState.STATE_FILE));
        CausalLm model;
        if (resume) {
            try (CheckpointReader r = CheckpointReader.open(TrainingState.modelDir(stateDir), HadoopFiles.defaultConf())) {
                model = ModelLoader.load(r, device, DataType.FLOAT32);
            }
        } else {
            model = start.loadSmaller(device, DataType.FLOAT32);
        }
        try {
            TrainingObjective objective = "distill".equals(s.objective()) ? new DistillationLoss(dense) : new NextTokenLoss();
            try (Trainer trainer = new Trainer(model, objective, s.trainer())) {
                if (resume) {
                    trainer.restore(TrainingState.read(fs, stateDir));
                    progress.accept("post-training: resumed at step " + trainer.steps() + " from " + stateDir);
                }
                TokenBatches data = new TokenBatches(stream, s.seqLen(), s.batchSize(), s.seed());
                long total = s.steps();
                while (trainer.steps() < total) {
                    long until = Math.min(total, trainer.steps() + Math.max(1, s.checkpointEvery()));
                    Trainer.RunSummary r = trainer.run(data, until, null, null);
                    trainer.saveState(fs, stateDir, true, configJson);
                    progress.accept(String.format("post-training %s: step %d/%d, loss %.4f, %.0f tokens/s", s.objective(),
                        trainer.steps(), total, r.lastLoss(), r.tokensPerSecond()));
                }
            }
            return model;
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
    }
}
