package io.evocompress.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.evocompress.EvocompressException;
import io.evocompress.model.CausalLm;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Trains every weight of a {@link CausalLm} in place: per step, the forward on a batch of token
 * sequences under DJL's gradient collector (PyTorch autograd), the loss of a {@link TrainingObjective},
 * backward, optional clipping to a global gradient norm, one {@link AdamW} update, gradients zeroed.
 *
 * <p>Choices: weights must be float32 (the update is not done in reduced precision); the learning
 * rate rises linearly over {@code warmupSteps} and is constant after; the training state (weights,
 * moments, step) is saved and restored as one directory ({@link TrainingState}). Only the model
 * given is changed: any other model (a teacher, the dense model) holds its own arrays. PyTorch
 * records gradients per thread and DJL allows one gradient collector per JVM at a time, so one
 * trainer steps at a time in a JVM. Close the trainer to free the optimizer state.
 */
public final class Trainer implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * @param learningRate peak learning rate (DarwinLM: 1e-5)
     * @param warmupSteps  steps of linear warm-up from lr/warmup to lr (0: none)
     * @param maxGradNorm  clip the global gradient norm to this (0: no clipping)
     */
    public record Settings(double learningRate, int warmupSteps, double maxGradNorm, AdamW.Settings adamW) {
        public Settings {
            if (!(learningRate > 0)) {
                throw new EvocompressException("Learning rate must be positive, but was " + learningRate);
            }
            if (warmupSteps < 0) {
                throw new EvocompressException("Warm-up steps must be >= 0, but was " + warmupSteps);
            }
            if (!(maxGradNorm >= 0)) {
                throw new EvocompressException("Gradient clipping norm must be >= 0 (0: off), but was " + maxGradNorm);
            }
        }

        /** DarwinLM's fine-tuning (ALGORITHMS.md section 5): AdamW, lr 1e-5, no warm-up, no clipping. */
        public static Settings darwinLm() {
            return new Settings(1e-5, 0, 0, AdamW.Settings.defaults());
        }
    }

    /**
     * One step's outcome.
     *
     * @param step     steps done after this one (1 after the first)
     * @param loss     the objective on the step's batch, before the update
     * @param gradNorm global gradient norm before clipping (NaN when clipping is off: not computed)
     */
    public record StepReport(long step, double loss, double gradNorm, double learningRate, long tokens, double seconds) {
        public double tokensPerSecond() {
            return tokens / seconds;
        }
    }

    /** Called after every step. */
    @FunctionalInterface
    public interface Progress {
        void onStep(StepReport report);
    }

    /** What {@link #run} did: steps and tokens in this call, wall seconds, the last step's loss. */
    public record RunSummary(long steps, long tokens, double seconds, double lastLoss) {
        public double stepsPerSecond() {
            return steps / seconds;
        }

        public double tokensPerSecond() {
            return tokens / seconds;
        }
    }

    private final CausalLm model;
    private final TrainingObjective objective;
    private final Settings settings;
    private final AdamW optimizer;

    public Trainer(CausalLm model, TrainingObjective objective, Settings settings) {
        if (model.dtype() != DataType.FLOAT32) {
            throw new EvocompressException("Training needs float32 weights, but the model was loaded in " + model.dtype()
                + ": load it with dtype float32.");
        }
        this.model = model;
        this.objective = objective;
        this.settings = settings;
        this.optimizer = new AdamW(settings.adamW(), model.device());
        Gradients.requireGradients(model.parameters());
    }

    /** Optimizer steps done so far (restored ones included). */
    public long steps() {
        return optimizer.step();
    }

    public CausalLm model() {
        return model;
    }

    /** The learning rate of the step after {@code done} steps. */
    double learningRate(long done) {
        if (settings.warmupSteps() == 0) {
            return settings.learningRate();
        }
        return settings.learningRate() * Math.min(1.0, (done + 1.0) / settings.warmupSteps());
    }

    /** One optimizer step on a batch of sequences of equal length (at least 2 tokens each). */
    public StepReport step(List<int[]> batch) {
        long start = System.nanoTime();
        // PyTorch's grad mode is per thread and on in a fresh thread (a Spark task thread); the gradient
        // collector restores what it found, so switch it off here or the in-place update fails on leaves
        ai.djl.pytorch.jni.JniUtils.setGradMode(false);
        Map<String, NDArray> parameters = model.parameters();
        Gradients.requireGradients(parameters);
        double lr = learningRate(optimizer.step());
        double lossValue;
        double norm = Double.NaN;
        try (NDManager scope = model.manager().newSubManager()) {
            lossValue = backward(batch, scope);
            Map<String, NDArray> gradients = Gradients.read(parameters, scope);
            if (settings.maxGradNorm() > 0) {
                norm = Gradients.globalNorm(gradients);
                if (norm > settings.maxGradNorm()) {
                    Gradients.scale(gradients, settings.maxGradNorm() / (norm + 1e-6));
                }
            }
            optimizer.update(parameters, gradients, lr);
        } finally {
            Gradients.zero(parameters);
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        return new StepReport(optimizer.step(), lossValue, norm, lr, (long) batch.size() * batch.get(0).length, seconds);
    }

    /**
     * The objective's gradient on a batch w.r.t. every weight, by tensor name (row-major float32),
     * without updating anything: for checks and analysis.
     */
    public Map<String, float[]> gradients(List<int[]> batch) {
        Map<String, NDArray> parameters = model.parameters();
        Gradients.requireGradients(parameters);
        try (NDManager scope = model.manager().newSubManager()) {
            backward(batch, scope);
            Map<String, float[]> out = new LinkedHashMap<>();
            Gradients.read(parameters, scope).forEach((name, g) -> out.put(name, g.toFloatArray()));
            return out;
        } finally {
            Gradients.zero(parameters);
        }
    }

    /** Forward and backward on a batch; gradients are left on the parameters. Returns the loss. */
    private double backward(List<int[]> batch, NDManager scope) {
        int b = batch.size();
        int t = batch.get(0).length;
        int[] flat = new int[b * t];
        for (int i = 0; i < b; i++) {
            if (batch.get(i).length != t) {
                throw new IllegalArgumentException("Sequences of one batch must have equal length: " + t + " and "
                    + batch.get(i).length);
            }
            System.arraycopy(batch.get(i), 0, flat, i * t, t);
        }
        NDArray ids = scope.create(flat, new Shape(b, t));
        try (GradientCollector collector = scope.getEngine().newGradientCollector()) {
            NDArray loss = objective.loss(model.logits(ids), ids);
            collector.backward(loss);
            return loss.getFloat();
        }
    }

    /**
     * Steps through {@code data} until {@code untilStep} steps are done in total (restored steps
     * count) or {@code budget} has passed, whichever first (null budget: no time limit).
     */
    public RunSummary run(TokenBatches data, long untilStep, Duration budget, Progress progress) {
        long start = System.nanoTime();
        long deadline = budget == null ? Long.MAX_VALUE : start + budget.toNanos();
        long steps = 0;
        long tokens = 0;
        double last = Double.NaN;
        while (optimizer.step() < untilStep && System.nanoTime() < deadline) {
            StepReport r = step(data.batch(optimizer.step()));
            steps++;
            tokens += r.tokens();
            last = r.loss();
            if (progress != null) {
                progress.onStep(r);
            }
        }
        return new RunSummary(steps, tokens, (System.nanoTime() - start) / 1e9, last);
    }

    /**
     * Saves weights, optimizer moments and step count to {@code dir} atomically (see {@link TrainingState}).
     *
     * @param configJson the model's config.json text, written with the weights
     */
    public void saveState(FileSystem fs, Path dir, boolean overwrite, String configJson) {
        ObjectNode extra = JSON.createObjectNode();
        extra.put("objective", objective.name());
        extra.put("learning_rate", settings.learningRate());
        extra.put("warmup_steps", settings.warmupSteps());
        extra.put("max_grad_norm", settings.maxGradNorm());
        TrainingState.write(fs, dir, overwrite, configJson, model, optimizer, extra);
    }

    /**
     * Continues from a saved state: the optimizer moments and step count. The model must already hold
     * the saved weights (loaded from {@link TrainingState#modelDir}).
     */
    public void restore(TrainingState.Saved saved) {
        optimizer.restore(saved.step(), saved.firstMoments(), saved.secondMoments(), model.parameters());
    }

    @Override
    public void close() {
        optimizer.close();
    }
}
